//! Domain values with no I/O: ids, durations, sizes and the contact model.
//! Each newtype has a `parse` that is the only way in, so a value that exists is valid.

pub mod contact;
pub mod duration;
pub mod ids;
pub mod size;
pub mod strict_json;
pub mod time;
