//! The password-strength worker: the same [`sspr_policy::report`]
//! the server enforces with, run in a dedicated Web Worker so zxcvbn's
//! dictionaries stay out of the SPA's main bundle and typing never blocks.
//!
//! The page posts [`WorkerRequest`]s as JSON strings and gets
//! [`WorkerReply`]s back. The page keeps at most one check in flight and
//! drops superseded ones, so a slow check (zxcvbn at 100 characters) never
//! queues up stale work.

use sspr_policy::banned;
use sspr_policy::{Banned, OwnerOf, report};
use sspr_proto::config::PasswordContext;
use sspr_proto::strength::{Report, WorkerReply, WorkerRequest};

/// The worker's state: the user's context and the folded banned terms.
#[derive(Debug, Default)]
pub struct Checker {
    prepared: Option<(PasswordContext, Vec<String>)>,
}

impl Checker {
    /// Handles one request; `Setup` answers nothing.
    pub fn handle(&mut self, request: WorkerRequest) -> Option<WorkerReply> {
        match request {
            WorkerRequest::Setup(ctx) => {
                // The same fold, filter and dedup the server applies to its config.
                let custom = ctx.banned.iter().flat_map(|b| b.custom.iter());
                let terms = banned::terms_from(
                    banned::GLOBAL_LIST
                        .lines()
                        .chain(custom.map(String::as_str)),
                );
                self.prepared = Some((ctx, terms));
                None
            }
            WorkerRequest::Check { id, password } => Some(match self.check(&password) {
                Some(report) => WorkerReply::Report { id, report },
                None => WorkerReply::Error,
            }),
        }
    }

    /// The report for `password`, once set up.
    pub fn check(&self, password: &str) -> Option<Report> {
        let (ctx, terms) = self.prepared.as_ref()?;
        let banned = ctx.banned.as_ref().map(|b| Banned {
            terms,
            organisation: &b.organisation,
        });
        Some(report(
            password,
            &ctx.rules,
            &ctx.owner(),
            banned.as_ref(),
            ctx.year,
        ))
    }

    /// One JSON message in, one JSON message out (if any).
    pub fn handle_json(&mut self, message: &str) -> Option<String> {
        let reply = match serde_json::from_str::<WorkerRequest>(message) {
            Ok(request) => self.handle(request)?,
            Err(_) => WorkerReply::Error,
        };
        serde_json::to_string(&reply).ok()
    }
}

/// Installs the message handler in the worker's global scope and tells the
/// page it is ready (messages sent before that would be lost).
#[cfg(target_arch = "wasm32")]
pub fn start() {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen]
    extern "C" {
        /// The worker's global scope. `globalThis` is what `js_sys::global()`
        /// returns first; read directly, the wasm and its glue carry none of
        /// that function's fallbacks (`self`, `window`, `global`).
        #[wasm_bindgen(thread_local_v2, js_name = globalThis)]
        static SCOPE: web_sys::DedicatedWorkerGlobalScope;
    }

    let scope = SCOPE.with(Clone::clone);
    let checker = std::cell::RefCell::new(Checker::default());
    let reply_to = scope.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
            let Some(message) = ev.data().as_string() else {
                return;
            };
            if let Some(reply) = checker.borrow_mut().handle_json(&message) {
                // A failed post means the page is gone; there is no one to tell.
                let _ = reply_to.post_message(&JsValue::from_str(&reply));
            }
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    let ready = serde_json::to_string(&WorkerReply::Ready).unwrap_or_default();
    let _ = scope.post_message(&JsValue::from_str(&ready));
}
