//! badgateway's own integration tests: one binary, one module per concept.

mod acceptance;
mod behaviour;
mod bounded_inputs;
mod campaigns;
mod causes;
mod contracts;
mod coverage;
mod faults_with_reqwest;
mod flows;
mod fuzzing;
mod hostile_requests;
mod isolation;
mod journal;
mod layout;
mod liveness;
mod outcomes;
mod properties;
mod provider_wire;
mod replay;
mod reports;
mod secrets;
mod store;
mod trust;
mod webhooks;
mod support;
