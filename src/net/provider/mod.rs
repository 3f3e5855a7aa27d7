//! `hooklens provider`: an offline ModelGates video API on 127.0.0.1 that plays the guide's
//! Steps 4–5 against an app: submit (`POST /api/v1/videos`), polling, the signed terminal
//! webhook with retries, and the video download.
//!
//! Files: [`api`] the HTTP server and its routes (bearer check, field validation, JSON
//! errors); [`jobs`] the job table and each job's status on a clock the caller controls;
//! [`deliver`] the webhook with its retry schedule and misbehaviour; [`events`] what is
//! reported (every request served, every attempt); [`files`] the MP4. Each imports only
//! files listed after it, never this one.

pub mod api;
pub mod deliver;
pub mod events;
pub mod files;
pub mod jobs;

pub use api::{Provider, serve};
