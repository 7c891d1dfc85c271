//! Compile-time checks `#[secured]` and `routes!` emit so that a mistake is reported at its
//! cause, in words, without the user naming the app's state anywhere. None of this runs at
//! request time: the items are traits, marker types and empty functions, and `route_on` is
//! `MethodRouter::on`, called once per route when the router is built.
//!
//! - **A parameter that is no extractor for the app's state**, found where the state becomes
//!   known: `routes!` asks `HandlerParams<S, M>` of each handler, a check of its parameter tuple
//!   (`DependencyFn::Args`; no item per function). The error names the handler, the state and
//!   the parameter's type (or, for a dependency or a credential, what it lacks deep down, such
//!   as `FromRef<AppState>` for `JwtStrategy`) before axum's "`Handler<_, _>` is not satisfied".
//! - **`Depends<f>` where `f` has no `#[secured]`**: `#[secured]` names each dependency of a
//!   function through a `use f as __auth_dep0;` inside its own `const _` block, beside a glob
//!   import of [`fallback`], whose `__auth_dep0` is [`FunctionWithoutSecured`]. An explicit import shadows a
//!   glob one per namespace, so the name is the dependency's companion type when `f` is
//!   `#[secured]` (or any type), and [`FunctionWithoutSecured`], which is no `Dependency`, when
//!   `f` is only a function. The block's `DependencyFn` impl (or, for a handler returning
//!   `impl Trait`, its `SecuredFn` impl) lists the dependencies through these
//!   names (`type Dependencies`, its parentheses at the first one), and the expansion puts the
//!   block before the function: rustc checks items in order, so its error, "not a dependency:
//!   add `#[secured]` to this function", at the `f` of `Depends<f>`, comes before the
//!   function's own "constant provided when a type was expected". The glob import is one per function, in a block of its own, so name resolution
//!   stays linear (a thousand glob imports in one module made it quadratic).
//! - **`Authenticated<(A, B)>` whose credentials yield different principals**: one error at the
//!   parameter, saying what to do, instead of one per mention of the type.

use std::marker::PhantomData;

use axum::{
    extract::{FromRequest, FromRequestParts},
    handler::Handler,
    routing::{MethodFilter, MethodRouter},
};

use super::{Credential, function::DependencyFn};

/// What `Depends<f>` names when `f` is a function without `#[secured]` (see the module docs):
/// no `Dependency`, named so that rustc's "`…FunctionWithoutSecured` is not a dependency"
/// reads as what it is.
pub struct FunctionWithoutSecured;

/// The fallbacks `#[secured]` glob-imports beside its aliases `__auth_dep0`, `__auth_dep1`, …
/// (see the module docs): an explicit `use f as __auth_depJ;` shadows them when `f` is a type.
/// One module per name, each glob-imported only where that alias is: a glob import copies
/// every name of its module into the block.
pub mod fallback {
    /// The fallback of `__auth_dep0`.
    pub mod d0 {
        /// What `__auth_dep0` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep0 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep1`.
    pub mod d1 {
        /// What `__auth_dep1` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep1 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep2`.
    pub mod d2 {
        /// What `__auth_dep2` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep2 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep3`.
    pub mod d3 {
        /// What `__auth_dep3` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep3 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep4`.
    pub mod d4 {
        /// What `__auth_dep4` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep4 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep5`.
    pub mod d5 {
        /// What `__auth_dep5` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep5 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep6`.
    pub mod d6 {
        /// What `__auth_dep6` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep6 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep7`.
    pub mod d7 {
        /// What `__auth_dep7` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep7 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep8`.
    pub mod d8 {
        /// What `__auth_dep8` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep8 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep9`.
    pub mod d9 {
        /// What `__auth_dep9` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep9 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep10`.
    pub mod d10 {
        /// What `__auth_dep10` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep10 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep11`.
    pub mod d11 {
        /// What `__auth_dep11` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep11 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep12`.
    pub mod d12 {
        /// What `__auth_dep12` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep12 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep13`.
    pub mod d13 {
        /// What `__auth_dep13` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep13 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep14`.
    pub mod d14 {
        /// What `__auth_dep14` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep14 = super::super::FunctionWithoutSecured;
    }
    /// The fallback of `__auth_dep15`.
    pub mod d15 {
        /// What `__auth_dep15` is when it names a function without `#[secured]`.
        #[allow(non_camel_case_types)]
        pub type __auth_dep15 = super::super::FunctionWithoutSecured;
    }
}

/// The parameters of the `#[secured]` handler `Self` are extractors for state `S` (every one
/// but the last of the request's parts, the last of the request, through `M`); `routes!` asks
/// for it where the state is known.
#[diagnostic::on_unimplemented(
    message = "a parameter of handler `{Self}` cannot be extracted with state `{S}`",
    note = "every parameter but the last must implement `FromRequestParts<{S}>`, the last `FromRequest<{S}>`"
)]
pub trait HandlerParams<S, M> {}

/// Every `#[secured]` function that is also a dependency, through its parameter tuple: no item
/// per function. `#[secured]` implements it for the others (those returning `impl Trait`).
impl<H: DependencyFn, S, M> HandlerParams<S, M> for H where H::Args: HandlerArgs<S, M> {}

/// A tuple of handler parameters that are extractors for state `S`: every one but the last of
/// the request's parts, the last of the request (through `M`).
pub trait HandlerArgs<S, M> {}

impl<S> HandlerArgs<S, ()> for () {}

macro_rules! handler_args {
    ($($ty:ident),*; $last:ident) => {
        impl<S, M, $($ty,)* $last> HandlerArgs<S, M> for ($($ty,)* $last,)
        where
            $($ty: FromRequestParts<S>,)*
            $last: FromRequest<S, M>,
        {
        }
    };
}

handler_args!(; T1);
handler_args!(T1; T2);
handler_args!(T1, T2; T3);
handler_args!(T1, T2, T3; T4);
handler_args!(T1, T2, T3, T4; T5);
handler_args!(T1, T2, T3, T4, T5; T6);
handler_args!(T1, T2, T3, T4, T5, T6; T7);
handler_args!(T1, T2, T3, T4, T5, T6, T7; T8);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8; T9);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9; T10);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10; T11);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11; T12);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12; T13);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13; T14);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14; T15);
handler_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15; T16);

/// `H: HandlerParams<S, M>`, asked with the state as `Self`: rustc does not select an
/// obligation whose `Self` is still an inference variable, so the check waits until the
/// router's state is known, and never guides inference (asked as `H: HandlerParams<S, M>`, a
/// missing `FromRef<AppState> for JwtStrategy` would make rustc infer the state to be
/// `JwtStrategy`, from axum's `impl<T: Clone> FromRef<T> for T`).
#[diagnostic::on_unimplemented(
    message = "a parameter of handler `{H}` is not an extractor for state `{Self}`",
    label = "`{H}` routed here, with state `{Self}`",
    note = "every parameter of a handler but the last must implement `FromRequestParts<{Self}>`, the last `FromRequest<{Self}>`; the help above names the one that is not"
)]
pub trait StateOf<H, M> {}

impl<S, H: HandlerParams<S, M>, M> StateOf<H, M> for S {}

/// `routes!`' check of handler `H` for the state of the router it builds.
pub fn check_handler<H, S: StateOf<H, M>, M>(_router: &MethodRouter<S>) {}

/// `routes!`' `router.on(filter, handler)`, asked with the state as `Self` for the same
/// reason as [`StateOf`]: axum's `H: Handler<T, S>` would otherwise be solved before the state
/// is known, and a missing `FromRef<AppState>` would make rustc infer a wrong state ("expected
/// `MethodRouter<AppState>`, found `MethodRouter<JwtStrategy>`") instead of reporting it.
pub fn route_on<H, T, S: Later<H, T, Depth>>(
    router: MethodRouter<S>,
    filter: MethodFilter,
    handler: H,
) -> MethodRouter<S> {
    S::route(router, filter, handler)
}

/// `Handler<T, S>`, asked `N` steps down. rustc meets the obligations of one function
/// breadth-first and reports them in that order: axum's `Handler` would fail one step below
/// `route_on`, while what `HandlerParams` finds wrong (a `FromRef` deep in a dependency chain)
/// fails a dozen steps below `check_handler`. Asking for `Handler` only at the bottom of this
/// chain puts its error after the one that names the cause. Each step is one trivial
/// obligation per route, at `routes!`; the call is `MethodRouter::on`.
pub trait Later<H, T, N>: Sized {
    /// Routes `handler` for `filter`.
    fn route(router: MethodRouter<Self>, filter: MethodFilter, handler: H) -> MethodRouter<Self>;
}

/// The bottom of [`Later`].
pub struct Zero;

/// One step of [`Later`].
pub struct Next<N>(PhantomData<N>);

impl<S, H, T> Later<H, T, Zero> for S
where
    S: Clone + Send + Sync + 'static,
    H: Handler<T, S>,
    T: 'static,
{
    fn route(router: MethodRouter<S>, filter: MethodFilter, handler: H) -> MethodRouter<S> {
        router.on(filter, handler)
    }
}

impl<S: Later<H, T, N>, H, T, N> Later<H, T, Next<N>> for S {
    fn route(router: MethodRouter<S>, filter: MethodFilter, handler: H) -> MethodRouter<S> {
        <S as Later<H, T, N>>::route(router, filter, handler)
    }
}

/// How far down [`Later`] asks for `Handler`: 24 steps, deeper than the failure of a chain of
/// eight dependencies.
pub type Depth = Four<Four<Four<Four<Four<Four<Zero>>>>>>;

/// Four steps of [`Later`].
pub type Four<N> = Next<Next<Next<Next<N>>>>;

/// The credentials of an `Authenticated<(A, B, …)>` all yield the same principal.
#[diagnostic::on_unimplemented(
    message = "the credentials of `Authenticated<{Self}>` yield different principals",
    label = "`{Self}`: every credential must yield the same `Credential::Principal`",
    note = "`Authenticated<(A, B)>` tries A, then B, and hands over one principal: `A::Principal` and `B::Principal` must be one type",
    note = "verify both into one type of your own (a wrapper credential whose `Principal` is that type), or take `Option<Authenticated<A>>` and `Option<Authenticated<B>>` as two parameters and decide in the handler"
)]
pub trait OnePrincipal {}

#[diagnostic::do_not_recommend]
impl<A: Credential, B: Credential<Principal = A::Principal>> OnePrincipal for (A, B) {}

#[diagnostic::do_not_recommend]
impl<A: Credential, B: Credential<Principal = A::Principal>, C: Credential<Principal = A::Principal>> OnePrincipal
    for (A, B, C)
{
}

#[diagnostic::do_not_recommend]
impl<
    A: Credential,
    B: Credential<Principal = A::Principal>,
    C: Credential<Principal = A::Principal>,
    D: Credential<Principal = A::Principal>,
> OnePrincipal for (A, B, C, D)
{
}

/// `#[secured]`'s check on a parameter `Authenticated<(A, B, …)>`.
pub fn assert_one_principal<T: OnePrincipal>() {}
