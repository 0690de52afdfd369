//! Prints a presigned PUT URL for one object, so `make bench` can measure a direct upload
//! to the same S3 server as the baseline for uploads through arca.
//! Usage: presign-put <endpoint> <bucket> <key>   (keys from AWS_ACCESS_KEY_ID/SECRET)

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, endpoint, bucket, key] = args.as_slice() else {
        anyhow::bail!("usage: presign-put <endpoint> <bucket> <key>");
    };
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .load()
        .await;
    let conf = aws_sdk_s3::config::Builder::from(&shared).endpoint_url(endpoint).force_path_style(true).build();
    let client = aws_sdk_s3::Client::from_conf(conf);
    let req = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(3600))?)
        .await?;
    println!("{}", req.uri());
    Ok(())
}
