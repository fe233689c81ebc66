//! `s3://bucket/prefix` sources: an object_store S3 client with the AWS credential chain
//! users already have (environment, `~/.aws` profiles and `AWS_PROFILE`, SSO, web
//! identity, ECS and EC2 roles), a custom endpoint for S3-compatible stores, and counts
//! of the requests each query makes.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use futures::TryStreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::path::Path;
use object_store::{
    CopyOptions, CredentialProvider, GetOptions, GetResult, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult,
};

use crate::error::{Error, Result};
use crate::layout::{Level, Lister};
use crate::source::{LogObject, ObjectBody};

/// How to reach S3.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// An S3-compatible endpoint (`http://127.0.0.1:5555`, MinIO, ...); path-style requests.
    pub endpoint: Option<String>,
    /// The bucket's region; else the AWS configuration's, else asked of S3.
    pub region: Option<String>,
    /// A named profile of `~/.aws/config` (else `AWS_PROFILE`, else the default).
    pub profile: Option<String>,
    /// Explicit keys (access key id, secret, session token) instead of the chain.
    pub keys: Option<(String, String, Option<String>)>,
}

/// `s3://bucket/a/b` as (`bucket`, `a/b`).
pub fn parse_url(url: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_string(), prefix.trim_end_matches('/').to_string()))
}

/// Requests a store made, by kind.
#[derive(Debug, Default)]
pub struct RequestCounts {
    pub list: AtomicU64,
    pub get: AtomicU64,
}

impl RequestCounts {
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.list.load(Ordering::Relaxed),
            self.get.load(Ordering::Relaxed),
        )
    }
}

/// An object store that counts the calls made through it.
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn ObjectStore>,
    counts: Arc<RequestCounts>,
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counted({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counted {
    async fn put_opts(
        &self,
        p: &Path,
        b: PutPayload,
        o: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(p, b, o).await
    }

    async fn put_multipart_opts(
        &self,
        p: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(p, o).await
    }

    async fn get_opts(&self, p: &Path, o: GetOptions) -> object_store::Result<GetResult> {
        self.counts.get.fetch_add(1, Ordering::Relaxed);
        self.inner.get_opts(p, o).await
    }

    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(l)
    }

    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counts.list.fetch_add(1, Ordering::Relaxed);
        self.inner.list(p)
    }

    fn list_with_offset(
        &self,
        p: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.counts.list.fetch_add(1, Ordering::Relaxed);
        self.inner.list_with_offset(p, offset)
    }

    async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
        self.counts.list.fetch_add(1, Ordering::Relaxed);
        self.inner.list_with_delimiter(p).await
    }

    async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(f, t, o).await
    }
}

/// The SDK's credential chain, cached until five minutes before the credentials expire
/// (object_store asks for credentials on every request).
#[derive(Debug)]
struct ChainCredentials {
    provider: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

#[async_trait]
impl CredentialProvider for ChainCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut cached = self.cached.lock().await;
        if let Some((credential, expiry)) = cached.as_ref()
            && expiry.is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300))
        {
            return Ok(Arc::clone(credential));
        }
        let fresh = self.provider.provide_credentials().await.map_err(|e| {
            object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            }
        })?;
        let credential = Arc::new(AwsCredential {
            key_id: fresh.access_key_id().to_string(),
            secret_key: fresh.secret_access_key().to_string(),
            token: fresh.session_token().map(str::to_string),
        });
        *cached = Some((Arc::clone(&credential), fresh.expiry()));
        Ok(credential)
    }
}

fn s3_error(bucket: &str, error: impl fmt::Display) -> Error {
    Error::S3 {
        location: format!("s3://{bucket}"),
        message: error.to_string(),
    }
}

/// An S3 client for one bucket, counting its requests into `counts`.
pub async fn store(
    bucket: &str,
    options: &S3Options,
    counts: Arc<RequestCounts>,
) -> Result<Arc<dyn ObjectStore>> {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some((key, secret, token)) = &options.keys {
        builder = builder
            .with_access_key_id(key)
            .with_secret_access_key(secret);
        if let Some(token) = token {
            builder = builder.with_token(token);
        }
    } else {
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader =
            aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        let config = Box::pin(loader.load()).await;
        if options.region.is_none()
            && let Some(region) = config.region()
        {
            builder = builder.with_region(region.to_string());
        }
        let provider = config
            .credentials_provider()
            .ok_or_else(|| s3_error(bucket, "no AWS credentials provider could be configured"))?;
        if let Err(error) = provider.provide_credentials().await {
            let mut message = format!(
                "no AWS credentials: looked in the environment, ~/.aws (AWS_PROFILE), SSO, web identity and the ECS/EC2 role ({error}"
            );
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            message.push(')');
            return Err(s3_error(bucket, message));
        }
        builder = builder.with_credentials(Arc::new(ChainCredentials {
            provider,
            cached: tokio::sync::Mutex::new(None),
        }));
    }
    if let Some(endpoint) = &options.endpoint {
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    } else if options.endpoint.is_none()
        && let Ok(region) =
            object_store::aws::resolve_bucket_region(bucket, &object_store::ClientOptions::new())
                .await
    {
        // Trail buckets often live in one central region; the wrong one answers 301.
        builder = builder.with_region(region);
    }
    let inner = builder.build().map_err(|e| s3_error(bucket, e))?;
    Ok(Arc::new(Counted {
        inner: Arc::new(inner),
        counts,
    }))
}

/// Lists a bucket one level at a time.
#[derive(Debug)]
pub struct S3Lister {
    pub bucket: String,
    pub store: Arc<dyn ObjectStore>,
}

impl S3Lister {
    fn object(&self, meta: &ObjectMeta) -> LogObject {
        LogObject {
            location: format!("s3://{}/{}", self.bucket, meta.location).into(),
            size: meta.size,
            version: meta
                .e_tag
                .as_ref()
                .map(|tag| format!("etag:{tag}"))
                .or_else(|| {
                    Some(format!(
                        "modified:{}",
                        meta.last_modified.timestamp_micros()
                    ))
                })
                .map(Into::into),
            body: ObjectBody::Store {
                store: Arc::clone(&self.store),
                path: meta.location.clone(),
            },
        }
    }
}

#[async_trait]
impl Lister for S3Lister {
    async fn level(&self, prefix: &str) -> Result<Level> {
        let path = Path::from(prefix);
        let shown = if prefix.is_empty() {
            "the bucket's root"
        } else {
            prefix
        };
        let listed = self
            .store
            .list_with_delimiter((!prefix.is_empty()).then_some(&path))
            .await
            .map_err(|e| s3_error(&self.bucket, format!("cannot list {shown}: {e}")))?;
        let mut folders: Vec<String> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        folders.sort();
        let mut files: Vec<LogObject> = listed.objects.iter().map(|m| self.object(m)).collect();
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(Level { folders, files })
    }

    async fn all(&self, prefix: &str) -> Result<Vec<LogObject>> {
        let path = Path::from(prefix);
        let metas: Vec<ObjectMeta> = self
            .store
            .list((!prefix.is_empty()).then_some(&path))
            .try_collect()
            .await
            .map_err(|e| s3_error(&self.bucket, format!("cannot list {prefix}: {e}")))?;
        let mut files: Vec<LogObject> = metas.iter().map(|m| self.object(m)).collect();
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(files)
    }
}

/// Reads a whole object.
pub async fn get(store: &Arc<dyn ObjectStore>, path: &Path) -> object_store::Result<Vec<u8>> {
    Ok(store.get(path).await?.bytes().await?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("s3://trail/AWSLogs/"),
            Some(("trail".into(), "AWSLogs".into()))
        );
        assert_eq!(
            parse_url("s3://trail"),
            Some(("trail".into(), String::new()))
        );
        assert_eq!(parse_url("s3:///x"), None);
        assert_eq!(parse_url("/local/path"), None);
    }
}
