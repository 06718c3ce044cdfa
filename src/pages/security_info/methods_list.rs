use leptos::prelude::*;
use sspr_proto::ErrorId;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{RegisteredMethod, SecurityInfoView, SignedInWith};

use super::{AfterReauth, Info, Retry, detail, kind_key, kind_name, use_info};
use crate::api;
use crate::i18n::tf;

/// Removes a method, or asks for the password first when the last proof is
/// older than the server allows.
pub async fn remove(info: Info, id: String) {
    match api::security_info::remove(&id).await {
        Err(e) if e.id() == ErrorId::ReauthRequired => {
            info.error.set(None);
            info.reauth.set(Some(AfterReauth::Remove(id)));
        }
        Err(e) if e.id() == ErrorId::StepUpRequired => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(remove(info, id.clone()));
            });
            info.wants_stepup(&e, retry);
        }
        r => {
            if info.apply(r) {
                info.notice.set(Some("security_info.removed"));
            }
        }
    }
}

/// New recovery codes, replacing the old set.
pub async fn new_codes(info: Info) {
    match api::security_info::recovery_codes().await {
        Err(e) if e.id() == ErrorId::ReauthRequired => {
            info.error.set(None);
            info.reauth.set(Some(AfterReauth::NewRecoveryCodes));
        }
        Err(e) if e.id() == ErrorId::StepUpRequired => {
            let retry = Retry::new(move || {
                leptos::task::spawn_local(new_codes(info));
            });
            info.wants_stepup(&e, retry);
        }
        Err(e) => info.error.set(Some(e)),
        Ok(r) => {
            info.error.set(None);
            info.codes.set(Some(r.codes));
            info.latest.set(Some(r.view));
        }
    }
}

/// Distinct kinds: two emails are still one way to reset.
fn kinds(methods: &[RegisteredMethod]) -> usize {
    let mut k: Vec<&str> = methods.iter().map(|m| kind_key(m.kind)).collect();
    k.sort_unstable();
    k.dedup();
    k.len()
}

/// The registered methods, the default marked, each removable.
#[component]
pub fn MethodsList(view: SecurityInfoView) -> impl IntoView {
    let info = use_info();
    let (confirming, set_confirming) = signal::<Option<String>>(None);
    let (renaming, set_renaming) = signal::<Option<String>>(None);
    let rename = crate::action::local(move |(id, name): &(String, String)| {
        let (id, name) = (id.clone(), name.clone());
        async move {
            if info.apply(api::passkey::rename(&id, &name).await) {
                set_renaming.set(None);
                info.notice.set(Some("passkey.renamed"));
            }
        }
    });
    let password_session = view.signed_in_with != SignedInWith::TemporaryAccessPass;
    let required = usize::from(view.required);
    let all = view.methods.clone();
    let do_remove = crate::action::local(move |id: &String| {
        set_confirming.set(None);
        remove(info, id.clone())
    });
    let regenerate = crate::action::local(move |_: &()| new_codes(info));
    let make_default = crate::action::local(move |id: &String| {
        let id = id.clone();
        async move {
            if info.apply(api::security_info::make_default(&id).await) {
                info.notice.set(Some("security_info.default_changed"));
            }
        }
    });
    if view.methods.is_empty() {
        return view! { <p class="empty">{t!("security_info.none_yet")}</p> }.into_any();
    }
    view! {
        <ul class="methods">
            {view
                .methods
                .into_iter()
                .map(|m| {
                    let kind = m.kind;
                    let name = move || kind_name(kind);
                    let id = m.id.clone();
                    let (id_a, id_b, id_c, id_d) = (id.clone(), id.clone(), id.clone(), id.clone());
                    let after: Vec<RegisteredMethod> = all.iter().filter(|o| o.id != m.id).cloned().collect();
                    let below = kinds(&after) < required;
                    let recovery = m.kind == MethodKind::RecoveryCode;
                    let passkey = m.kind == MethodKind::Passkey;
                    let (id_e, id_f, current) = (id.clone(), id.clone(), m.target.clone());
                    let rename_label = tf("passkey.rename_label", &[("name", &m.target)]);
                    view! {
                        <li class="method">
                            <div class="method-text">
                                <span class="method-name">{name}</span>
                                {m.is_default.then(|| view! { <span class="badge">{t!("security_info.default")}</span> })}
                                <span class="method-detail">{
                                    let m = m.clone();
                                    move || detail(&m)
                                }</span>
                            </div>
                            {password_session.then(|| view! {
                                <div class="method-actions">
                                    {move || if renaming.get().as_deref() == Some(id_e.as_str()) {
                                        let id = id_f.clone();
                                        let typed = NodeRef::<leptos::html::Input>::new();
                                        view! {
                                            <form class="rename" on:submit=move |ev| {
                                                ev.prevent_default();
                                                if let Some(input) = typed.get_untracked() {
                                                    rename.dispatch((id.clone(), input.value()));
                                                }
                                            }>
                                                <label for="rename-passkey">{t!("passkey.name_label")}</label>
                                                <input id="rename-passkey" type="text" required maxlength=sspr_proto::passkey::NAME_MAX.to_string() node_ref=typed value=current.clone() />
                                                <button type="submit" class="primary">{t!("action.save")}</button>
                                                <button type="button" class="secondary" on:click=move |_| set_renaming.set(None)>{t!("action.cancel")}</button>
                                            </form>
                                        }.into_any()
                                    } else if confirming.get().as_deref() == Some(id_a.as_str()) {
                                        let id = id_b.clone();
                                        view! {
                                            <div class="confirm" role="group" aria-label=move || tf("security_info.remove_label", &[("method", &name())])>
                                                <p>{move || tf(
                                                    if below { "security_info.remove_below" } else { "security_info.remove_confirm" },
                                                    &[("method", &name())],
                                                )}</p>
                                                <button type="button" class="danger" on:click=move |_| { do_remove.dispatch(id.clone()); }>{t!("action.remove")}</button>
                                                <button type="button" class="secondary" on:click=move |_| set_confirming.set(None)>{t!("security_info.keep")}</button>
                                            </div>
                                        }.into_any()
                                    } else {
                                        let id = id_c.clone();
                                        let id2 = id_d.clone();
                                        view! {
                                            {(!m.is_default && !recovery).then(|| view! {
                                                <button type="button" class="link" aria-label=move || tf("security_info.make_default_label", &[("method", &name())]) on:click=move |_| { make_default.dispatch(id2.clone()); }>{t!("security_info.make_default")}</button>
                                            })}
                                            {passkey.then(|| {
                                                let id = id_c.clone();
                                                view! {
                                                    <button type="button" class="link" aria-label=rename_label.clone() on:click=move |_| {
                                                        set_confirming.set(None);
                                                        set_renaming.set(Some(id.clone()));
                                                    }>{t!("passkey.rename")}</button>
                                                }
                                            })}
                                            {recovery.then(|| view! {
                                                <button type="button" class="link" on:click=move |_| { regenerate.dispatch(()); }>{t!("security_info.new_codes")}</button>
                                            })}
                                            <button type="button" class="link" aria-label=move || tf("security_info.remove_label", &[("method", &name())]) on:click=move |_| set_confirming.set(Some(id.clone()))>{t!("action.remove")}</button>
                                        }.into_any()
                                    }}
                                </div>
                            })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
    .into_any()
}
