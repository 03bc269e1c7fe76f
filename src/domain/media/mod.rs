//! Media: what may be uploaded, under which names and sizes, and the jobs that process it.

mod files;
mod job;
mod ports;

pub use files::{clean_filename, sniff, Format, MediaKind, UploadLimits, SNIFF_BYTES};
pub use job::{Job, JobStatus, MediaFacts, NewJob, QueueMetrics, JOB_KIND_PROCESS_MEDIA};
pub use ports::{
    AcceptedUpload, JobQueue, JobRepository, JobRunner, MediaChangeError, MediaStore, MediaTools,
    NewUpload, Probed, SignedRequest, Upload, UploadRepository, VideoStream,
};
