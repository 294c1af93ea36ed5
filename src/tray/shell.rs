//! placeholder
#[derive(Debug)]
pub struct Tray;
