//! One module per subcommand.

pub mod inspect;
pub mod legalize;
pub mod run;
pub mod targets;
