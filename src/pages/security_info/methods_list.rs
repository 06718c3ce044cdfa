use leptos::prelude::*;
use sspr_proto::ErrorId;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::{RegisteredMethod, SecurityInfoView, SignedInWith};

use super::{AfterReauth, Info, detail, kind_name, use_info};
use crate::api;

/// Removes a method, or asks for the password first when the last proof is
/// older than the server allows.
pub async fn remove(info: Info, id: String) {
    match api::security_info::remove(&id).await {
        Err(e) if e.id() == ErrorId::ReauthRequired => {
            info.error.set(None);
            info.reauth.set(Some(AfterReauth::Remove(id)));
        }
        r => {
            if info.apply(r) {
                info.notice.set(Some("Method removed.".into()));
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
    let mut k: Vec<&str> = methods.iter().map(|m| kind_name(m.kind)).collect();
    k.sort_unstable();
    k.dedup();
    k.len()
}

/// The registered methods, the default marked, each removable.
#[component]
pub fn MethodsList(view: SecurityInfoView) -> impl IntoView {
    let info = use_info();
    let (confirming, set_confirming) = signal::<Option<String>>(None);
    let password_session = view.signed_in_with == SignedInWith::Password;
    let required = usize::from(view.required);
    let all = view.methods.clone();
    let do_remove = Action::new_local(move |id: &String| {
        set_confirming.set(None);
        remove(info, id.clone())
    });
    let regenerate = Action::new_local(move |_: &()| new_codes(info));
    let make_default = Action::new_local(move |id: &String| {
        let id = id.clone();
        async move {
            if info.apply(api::security_info::make_default(&id).await) {
                info.notice.set(Some("Default method changed.".into()));
            }
        }
    });
    if view.methods.is_empty() {
        return view! { <p class="empty">"You haven't added any methods yet."</p> }.into_any();
    }
    view! {
        <ul class="methods">
            {view
                .methods
                .into_iter()
                .map(|m| {
                    let name = kind_name(m.kind);
                    let id = m.id.clone();
                    let (id_a, id_b, id_c, id_d) = (id.clone(), id.clone(), id.clone(), id.clone());
                    let after: Vec<RegisteredMethod> = all.iter().filter(|o| o.id != m.id).cloned().collect();
                    let below = kinds(&after) < required;
                    let recovery = m.kind == MethodKind::RecoveryCode;
                    view! {
                        <li class="method">
                            <div class="method-text">
                                <span class="method-name">{name}</span>
                                {m.is_default.then(|| view! { <span class="badge">"Default"</span> })}
                                <span class="method-detail">{detail(&m)}</span>
                            </div>
                            {password_session.then(|| view! {
                                <div class="method-actions">
                                    {move || if confirming.get().as_deref() == Some(id_a.as_str()) {
                                        let id = id_b.clone();
                                        view! {
                                            <div class="confirm" role="group" aria-label=format!("Remove {name}")>
                                                <p>{if below {
                                                    format!("Remove {name}? You'll have fewer methods than password reset needs, and you'll be asked to add another next time you sign in.")
                                                } else {
                                                    format!("Remove {name}?")
                                                }}</p>
                                                <button type="button" class="danger" on:click=move |_| { do_remove.dispatch(id.clone()); }>"Remove"</button>
                                                <button type="button" class="secondary" on:click=move |_| set_confirming.set(None)>"Keep it"</button>
                                            </div>
                                        }.into_any()
                                    } else {
                                        let id = id_c.clone();
                                        let id2 = id_d.clone();
                                        view! {
                                            {(!m.is_default && !recovery).then(|| view! {
                                                <button type="button" class="link" aria-label=format!("Make default: {name}") on:click=move |_| { make_default.dispatch(id2.clone()); }>"Make default"</button>
                                            })}
                                            {recovery.then(|| view! {
                                                <button type="button" class="link" on:click=move |_| { regenerate.dispatch(()); }>"Create new codes"</button>
                                            })}
                                            <button type="button" class="link" aria-label=format!("Remove {name}") on:click=move |_| set_confirming.set(Some(id.clone()))>"Remove"</button>
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
