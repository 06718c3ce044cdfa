//! [`local`]: a local [`Action`] whose task is one boxed future type, so
//! leptos's action machinery (dispatch, the pending flag, the task's
//! wrapper) is in the wasm once per input type rather than once per
//! action. Each action's own code is unchanged; only its future is boxed.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;

/// An action's task, type-erased.
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// `crate::action::local(f)`, with `f`'s future boxed.
pub fn local<I: 'static, F: Future<Output = ()> + 'static>(
    f: impl Fn(&I) -> F + 'static,
) -> Action<I, ()> {
    let f: Box<dyn Fn(&I) -> Task> = Box::new(move |input| Box::pin(f(input)));
    Action::new_local(f)
}
