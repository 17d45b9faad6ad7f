//! The router filter's logic: the route table (model → provider), and the plan for one request.

pub mod plan;
pub mod route;
