//! A `#[secured]` function described as types: its scopes, its parameters, what it returns and
//! how to call it. `#[secured]` emits only these descriptions; the generic impls here do the
//! work for every function, so the macro emits no per-function async body, and what a
//! dependency needs of its parameters is checked only where it is used as `Depends<function>`.

use std::marker::PhantomData;

use axum::{
    extract::FromRequestParts,
    http::request::Parts,
    response::{IntoResponse, Response},
};

use super::{
    RequiredScopes,
    chain::ChainState,
    dependency::{CacheEntry, Dependency, Resolve},
    requirement::{Describe, Walk},
};

/// Compile-time facts about a `#[secured]` function, on its companion type.
pub trait SecuredFn: 'static {
    /// The function's own scopes.
    const SCOPES: RequiredScopes;

    /// The parameters that are dependencies (`Depends<d>`, `Option<Depends<d>>`), as a tuple:
    /// the walk goes into each, in order. A type, not a function body: it costs the compiler
    /// less, once per `#[secured]` function.
    type Dependencies: DescribeAll;

    /// Tells the walk what each other parameter is (a credential, a form, an extractor of the
    /// app's), through the probe; the function's scopes are already in force. The default, for
    /// functions with no such parameter, does nothing.
    fn describe(_walk: &mut Walk) {}

    /// The whole walk of the function's parameters.
    fn walk(walk: &mut Walk) {
        <Self::Dependencies as DescribeAll>::describe_all(walk);
        Self::describe(walk);
    }
}

/// A tuple of extractors that each describe themselves.
pub trait DescribeAll {
    /// Describes each, in order.
    fn describe_all(walk: &mut Walk);
}

macro_rules! describe_all {
    ($($ty:ident),*) => {
        impl<$($ty: Describe),*> DescribeAll for ($($ty,)*) {
            #[allow(unused_variables)]
            fn describe_all(walk: &mut Walk) {
                $(<$ty as Describe>::describe(walk);)*
            }
        }
    };
}

describe_all!();
describe_all!(T1);
describe_all!(T1, T2);
describe_all!(T1, T2, T3);
describe_all!(T1, T2, T3, T4);
describe_all!(T1, T2, T3, T4, T5);
describe_all!(T1, T2, T3, T4, T5, T6);
describe_all!(T1, T2, T3, T4, T5, T6, T7);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15);
describe_all!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15, T16);

/// A `#[secured]` function usable as a dependency, described as types: its parameters, what it
/// returns, how to call it. One generic impl of [`Dependency`] and one of [`Resolve`] do the
/// work for all of them, so the macros emit no per-function async body, and what a dependency
/// needs of its parameters is checked only where it is used as `Depends<function>`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a dependency",
    label = "not a dependency: add `#[secured]` to this function",
    note = "mark an async fn with `#[secured]` or `#[secured(scopes = [...])]` to use it as `Depends<that_fn>`"
)]
pub trait DependencyFn: Send + Sync + 'static {
    /// The function's own scopes ([`SecuredFn::SCOPES`]); none unless written.
    const SCOPES: RequiredScopes = RequiredScopes::NONE;
    /// The parameters that are dependencies ([`SecuredFn::Dependencies`]).
    type Dependencies: DescribeAll;
    /// What each other parameter is ([`SecuredFn::describe`]).
    fn describe(_walk: &mut Walk) {}

    /// The parameter extractors, as a tuple.
    type Args;
    /// What the function returns.
    type Returns;
    /// [`ResultFinish`] for `Result<T, E>`, [`PlainFinish`] for anything else.
    type Finish: Finish<Self::Returns>;
    /// [`Cached`] or [`NotCached`] (`#[secured(use_cache = false)]`).
    type Cache: CacheSwitch;

    /// Calls the function with extracted parameters.
    fn call(args: Self::Args) -> impl Future<Output = Self::Returns> + Send;
}

/// What `#[secured]` writes for the common function (see `auth-macros/src/secured/fast.rs`):
/// the proc macro hands over only the pieces that vary (the user's own tokens, with their
/// spans, and a few names), and this matcher, expanded by rustc itself, writes the marker
/// type, the `DependencyFn` impl in a `const _` block, and the function with `Enter<name>`
/// first. Fewer tokens cross the proc-macro bridge, which in an unoptimised proc macro costs
/// more per token than rustc's own expander. The items are those the full path
/// (`auth-macros/src/secured/expand.rs`) writes. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __secured {
    (
        $doc:literal [$($vis:tt)*] $name:ident
        [$($scope:ident $list:tt)?]
        [$($d:ident $alias:ident {$($path:tt)+})*]
        $dependencies:tt
        [$($({$($other:tt)+})+)?]
        $args:tt [$(-> $($returns:tt)+)?] $finish:ident $cache:ident [$($ready:ident)?] [$($field:tt)*]
        {$($before:tt)+} ($($params:tt)*) $body:tt
    ) => {
        #[doc = $doc]
        #[allow(non_camel_case_types)]
        $($vis)* struct $name {}
        #[allow(unused_imports)]
        const _: () = {
            $(use $crate::__private::fallback::$d::*;)*
            $(use $($path)+ as $alias;)*
            #[automatically_derived]
            impl $crate::__private::DependencyFn for $name {
                $(const SCOPES: $crate::__private::RequiredScopes = $scope! { $list $scope [$crate] };)?
                type Dependencies = $dependencies;
                $(fn describe(walk: &mut $crate::__private::Walk) {
                    use $crate::__private::{ViaDescribe as _, ViaNothing as _};
                    $((&$crate::__private::Probe::<$($other)+>::new()).describe(walk);)+
                })?
                type Args = $args;
                type Returns = ($($($returns)+)?);
                type Finish = $crate::__private::$finish;
                type Cache = $crate::__private::$cache;
                fn call(args: Self::Args) -> impl $crate::__private::Future<Output = Self::Returns> {
                    $($crate::__private::core::future::$ready)?($name($crate::__private::Enter::nested(), $(args.$field),*))
                }
            }
        };
        $($before)+(_: $crate::__private::Enter<$name>, $($params)*) $(-> $($returns)+)? $body
    };
}

/// A function usable as a dependency is described by one impl, of [`DependencyFn`]: one impl
/// per `#[secured]` function rather than two costs the compiler less.
impl<D: DependencyFn> SecuredFn for D {
    const SCOPES: RequiredScopes = <D as DependencyFn>::SCOPES;
    type Dependencies = <D as DependencyFn>::Dependencies;

    fn describe(walk: &mut Walk) {
        <D as DependencyFn>::describe(walk);
    }
}

impl<D: DependencyFn> Dependency for D {
    type Output = <D::Finish as Finish<D::Returns>>::Output;
    const SCOPES: RequiredScopes = <D as DependencyFn>::SCOPES;
    const USE_CACHE: bool = <D::Cache as CacheSwitch>::ENABLED;

    fn describe(walk: &mut Walk) {
        <D as SecuredFn>::walk(walk);
    }
}

/// Turns what a dependency function returns into `Result<Output, Response>`.
#[diagnostic::on_unimplemented(
    message = "a dependency must return `Result<T, E>` where `E: IntoResponse`, found `{R}`",
    note = "return a plain value from infallible dependencies"
)]
pub trait Finish<R> {
    /// The success value.
    type Output;
    /// The conversion.
    #[allow(clippy::result_large_err)] // `Response` is what axum rejects with.
    fn finish(returned: R) -> Result<Self::Output, Response>;
}

/// [`Finish`] for functions returning `Result<T, E>`: `Err` becomes `E`'s response.
#[derive(Debug)]
pub struct ResultFinish;

impl<T, E: IntoResponse> Finish<Result<T, E>> for ResultFinish {
    type Output = T;

    fn finish(returned: Result<T, E>) -> Result<T, Response> {
        returned.map_err(IntoResponse::into_response)
    }
}

/// [`Finish`] for functions returning a plain value: it is the output.
#[derive(Debug)]
pub struct PlainFinish;

impl<T> Finish<T> for PlainFinish {
    type Output = T;

    fn finish(returned: T) -> Result<T, Response> {
        Ok(returned)
    }
}

/// A tuple of extractors, a dependency's parameters: extracted in order (the first to reject
/// stops the rest), then handed to the function.
#[diagnostic::on_unimplemented(
    message = "a parameter of this dependency cannot be extracted with state `{S}`",
    label = "parameters `{Self}`",
    note = "every parameter of a dependency must implement `FromRequestParts<{S}>` (a dependency cannot read the body)"
)]
pub trait ExtractArgs<S>: Sized {
    /// Extracts every parameter, then calls `D` with them: one future, so a chain link costs
    /// one level of nesting rather than two.
    fn run<D>(
        parts: &mut Parts,
        state: &S,
    ) -> impl Future<Output = Result<<D::Finish as Finish<D::Returns>>::Output, Response>> + Send
    where
        D: DependencyFn<Args = Self>;
}

macro_rules! extract_args {
    ($($ty:ident),*) => {
        impl<S, $($ty),*> ExtractArgs<S> for ($($ty,)*)
        where
            S: Send + Sync,
            $($ty: FromRequestParts<S> + Send,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn run<D>(parts: &mut Parts, state: &S) -> impl Future<Output = Result<<D::Finish as Finish<D::Returns>>::Output, Response>> + Send
            where
                D: DependencyFn<Args = Self>,
            {
                async move {
                    $(let $ty = $ty::from_request_parts(parts, state).await.map_err(IntoResponse::into_response)?;)*
                    <D::Finish as Finish<D::Returns>>::finish(D::call(($($ty,)*)).await)
                }
            }
        }
    };
}

extract_args!();
extract_args!(T1);
extract_args!(T1, T2);
extract_args!(T1, T2, T3);
extract_args!(T1, T2, T3, T4);
extract_args!(T1, T2, T3, T4, T5);
extract_args!(T1, T2, T3, T4, T5, T6);
extract_args!(T1, T2, T3, T4, T5, T6, T7);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14);
extract_args!(T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15);

/// Every `#[secured]` dependency runs through this one generic impl.
impl<D, S> Resolve<S> for D
where
    D: DependencyFn,
    D::Args: ExtractArgs<S>,
    D::Cache: CachePolicy<<D::Finish as Finish<D::Returns>>::Output>,
    S: Send + Sync,
{
    fn run(parts: &mut Parts, state: &S) -> impl Future<Output = Result<Self::Output, Response>> + Send {
        <D::Args as ExtractArgs<S>>::run::<D>(parts, state)
    }

    fn to_cache(output: &Self::Output) -> Option<CacheEntry> {
        D::Cache::store(output)
    }

    fn from_cache(entry: &CacheEntry) -> Option<Self::Output> {
        D::Cache::load(entry)
    }
}

/// How a dependency's output is kept in the per-request cache.
#[diagnostic::on_unimplemented(
    message = "dependency output `{T}` must be `Clone + Send + Sync + 'static` to be cached per request",
    label = "cached per request",
    note = "derive `Clone` for it, or opt out of caching with `#[secured(use_cache = false)]`"
)]
pub trait CachePolicy<T> {
    /// Stores a clone of `value`, or nothing.
    fn store(value: &T) -> Option<CacheEntry>;
    /// Reads a clone back.
    fn load(entry: &CacheEntry) -> Option<T>;
}

/// Whether a [`CachePolicy`] caches at all, known without its output type.
pub trait CacheSwitch {
    /// `true` for [`Cached`].
    const ENABLED: bool;
}

/// The default policy: outputs are cloned into the cache when the chain can ask for them again.
#[derive(Debug)]
pub struct Cached;

impl CacheSwitch for Cached {
    const ENABLED: bool = true;
}

impl<T: Clone + Send + Sync + 'static> CachePolicy<T> for Cached {
    fn store(value: &T) -> Option<CacheEntry> {
        Some(CacheEntry::new(value))
    }

    fn load(entry: &CacheEntry) -> Option<T> {
        entry.get::<T>()
    }
}

/// `#[secured(use_cache = false)]`: the dependency runs every time it is reached.
#[derive(Debug)]
pub struct NotCached;

impl CacheSwitch for NotCached {
    const ENABLED: bool = false;
}

impl<T> CachePolicy<T> for NotCached {
    fn store(_value: &T) -> Option<CacheEntry> {
        None
    }

    fn load(_entry: &CacheEntry) -> Option<T> {
        None
    }
}

/// Autoref specialisation: `(&Probe::<T>::new()).describe(walk)` calls [`Describe`] when `T`
/// implements it, and does nothing otherwise.
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// A probe for `T`.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

/// Chosen when the probed extractor describes itself.
pub trait ViaDescribe {
    /// Describes the extractor.
    fn describe(&self, walk: &mut Walk);
}

impl<T: Describe> ViaDescribe for Probe<T> {
    fn describe(&self, walk: &mut Walk) {
        T::describe(walk);
    }
}

/// Chosen for every other extractor.
pub trait ViaNothing {
    /// Describes nothing.
    fn describe(&self, _walk: &mut Walk) {}
}

impl<T> ViaNothing for &Probe<T> {}

/// The first parameter `#[secured]` adds to a function. As an axum extractor it starts the
/// handler's chain with the handler's scopes; when the function runs as a dependency, the
/// chain is already set and [`Enter::nested`] is passed instead.
pub struct Enter<M>(PhantomData<fn() -> M>);

impl<M> Enter<M> {
    /// The value passed when the function runs as a dependency.
    pub fn nested() -> Self {
        Self(PhantomData)
    }
}

impl<M: SecuredFn, S: Send + Sync> FromRequestParts<S> for Enter<M> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        ChainState::enter_handler::<M>(parts);
        Ok(Self(PhantomData))
    }
}

/// `#[secured(state = S)]`: a parameter before the last must be an extractor that leaves the
/// body alone. Called with the parameter's span, so an error points at the parameter.
pub fn assert_parts_extractor<S, T: FromRequestParts<S>>() {}

/// `#[secured(state = S)]`: the last parameter may read the body.
pub fn assert_request_extractor<S, M, T: axum::extract::FromRequest<S, M>>() {}
