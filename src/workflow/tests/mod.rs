//! Tests of loading whole workflow directories, by theme: what loads and how (`load`), and the
//! error every kind of mistake gets (`errors`).

mod errors;
mod load;
