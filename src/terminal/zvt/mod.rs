//! ZVT (PA00P015 commands, PA00P016 transport), ECR side and the codec the emulator shares.

pub mod apdu;
pub mod frame;
pub mod messages;
pub mod session;
pub mod transport;
