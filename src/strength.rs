//! The page's side of the strength worker (`strength/`): zxcvbn and the
//! policy engine run off the main thread, loaded only when a password is
//! about to be chosen. The password goes to the worker, never the network.
//!
//! At most one check is in flight. While it runs, newer keystrokes replace
//! one pending slot, so a slow check (zxcvbn at 100 characters) never queues
//! stale work and typing never waits.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use sspr_proto::config::PasswordContext;
use sspr_proto::strength::{Report, WorkerReply, WorkerRequest};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

/// The `<meta>` the build writes with the worker's hashed loader URL.
const META: &str = "sspr-strength";

/// What the checklist shows for the password being typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Checked {
    /// The worker is loading, or has not answered yet.
    #[default]
    Pending,
    /// A report; `current` is false while a newer value is being checked.
    Report { report: Report, current: bool },
    /// The worker could not load: the server still checks on submit.
    Unavailable,
}

type Listener = Rc<dyn Fn(u32, Option<Report>)>;

#[derive(Default)]
struct Engine {
    worker: Option<web_sys::Worker>,
    ready: bool,
    failed: bool,
    setup: Option<String>,
    in_flight: bool,
    pending: Option<String>,
    listener: Option<Listener>,
}

thread_local! {
    static ENGINE: Rc<RefCell<Engine>> = Rc::default();
}

fn worker_url() -> Option<String> {
    let doc = web_sys::window()?.document()?;
    let meta = doc.query_selector(&format!("meta[name='{META}']")).ok()??;
    meta.get_attribute("content").filter(|u| u.starts_with('/'))
}

fn post_json(worker: &web_sys::Worker, json: &str) {
    // A failed post means the worker is gone; onerror reports that.
    let _ = worker.post_message(&JsValue::from_str(json));
}

fn on_reply(engine: &Rc<RefCell<Engine>>, reply: WorkerReply) {
    let mut e = engine.borrow_mut();
    match reply {
        WorkerReply::Ready => {
            e.ready = true;
            if let Some(w) = e.worker.clone() {
                if let Some(setup) = e.setup.clone() {
                    post_json(&w, &setup);
                }
                if let Some(next) = e.pending.take() {
                    post_json(&w, &next);
                    e.in_flight = true;
                }
            }
        }
        WorkerReply::Report { id, report } => {
            e.in_flight = false;
            if let (Some(w), Some(next)) = (e.worker.clone(), e.pending.take()) {
                post_json(&w, &next);
                e.in_flight = true;
            }
            let listener = e.listener.clone();
            drop(e);
            if let Some(l) = listener {
                l(id, Some(report));
            }
        }
        WorkerReply::Error => e.in_flight = false,
    }
}

fn fail(engine: &Rc<RefCell<Engine>>) {
    let mut e = engine.borrow_mut();
    e.failed = true;
    let listener = e.listener.clone();
    drop(e);
    if let Some(l) = listener {
        l(0, None);
    }
}

/// Starts loading the worker (about 300 KB) if it is not loading already.
/// The reset wizard calls this on its verification steps, so the engine is
/// ready by the time the user chooses a password.
pub fn preload() {
    ENGINE.with(|engine| {
        if engine.borrow().worker.is_some() || engine.borrow().failed {
            return;
        }
        let Some(worker) = worker_url().and_then(|u| web_sys::Worker::new(&u).ok()) else {
            engine.borrow_mut().failed = true;
            return;
        };
        let on_message = {
            let engine = engine.clone();
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let reply = ev
                    .data()
                    .as_string()
                    .and_then(|s| serde_json::from_str::<WorkerReply>(&s).ok());
                if let Some(reply) = reply {
                    on_reply(&engine, reply);
                }
            })
        };
        let on_error = {
            let engine = engine.clone();
            Closure::<dyn FnMut()>::new(move || fail(&engine))
        };
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // Both live as long as the page (the worker is never terminated).
        on_message.forget();
        on_error.forget();
        engine.borrow_mut().worker = Some(worker);
    });
}

fn request(json: String, is_setup: bool) {
    ENGINE.with(|engine| {
        let mut e = engine.borrow_mut();
        if is_setup {
            e.setup = Some(json.clone());
            e.pending = None;
            if let (true, Some(w)) = (e.ready, e.worker.as_ref()) {
                post_json(w, &json);
            }
            return;
        }
        match (e.ready && !e.in_flight, e.worker.clone()) {
            (true, Some(w)) => {
                post_json(&w, &json);
                e.in_flight = true;
            }
            // Loading, or busy: this value replaces any older one waiting.
            _ => e.pending = Some(json),
        }
    });
}

/// Checks `password` live for the user in `context`: a report for each
/// value typed, computed in the worker.
pub fn watch(
    context: Signal<Option<PasswordContext>>,
    password: Signal<String>,
) -> ReadSignal<Checked> {
    preload();
    let (checked, set_checked) = signal(Checked::Pending);
    let latest = StoredValue::new(0u32);
    let listener: Listener = Rc::new(move |id, report| {
        let Some(report) = report else {
            set_checked.set(Checked::Unavailable);
            return;
        };
        // A late answer for an older value still beats nothing, marked stale.
        let current = latest.try_get_value() == Some(id);
        if id != 0 {
            set_checked.set(Checked::Report { report, current });
        }
    });
    ENGINE.with(|engine| {
        let mut e = engine.borrow_mut();
        if e.failed {
            set_checked.set(Checked::Unavailable);
        }
        e.listener = Some(listener);
    });
    on_cleanup(|| ENGINE.with(|e| e.borrow_mut().listener = None));
    // One effect, so a changed context always reaches the worker before
    // the check that depends on it.
    let last_setup = StoredValue::new(String::new());
    Effect::new(move |_| {
        let password = password.get();
        let Some(ctx) = context.get() else {
            return;
        };
        if let Ok(setup) = serde_json::to_string(&WorkerRequest::Setup(ctx))
            && last_setup.with_value(|s| *s != setup)
        {
            last_setup.set_value(setup.clone());
            request(setup, true);
        }
        let id = latest.get_value().wrapping_add(1).max(1);
        latest.set_value(id);
        if let Ok(json) = serde_json::to_string(&WorkerRequest::Check { id, password }) {
            request(json, false);
        }
    });
    checked
}
