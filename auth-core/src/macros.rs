//! Macros for the crate's own code.

/// Builder setters that store one value, with their docs: `name(arg: Type) => field = value;`
/// is `pub fn name(mut self, arg: Type) -> Self { self.field = value; self }`, and
/// `name() => field = value;` takes no argument.
macro_rules! setters {
    ($($(#[$attr:meta])* $name:ident($($arg:ident: $ty:ty)?) => $($field:ident).+ = $value:expr;)*) => {
        $(
            $(#[$attr])*
            pub fn $name(mut self $(, $arg: $ty)?) -> Self {
                self.$($field).+ = $value;
                self
            }
        )*
    };
}
pub(crate) use setters;
