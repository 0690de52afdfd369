//! The floor for a redirect: a bare hyper server that answers every request with a 302 to
//! a fixed URL. No auth, no Redis, no presign. `make bench` measures arca against it.
//! Usage: bench-302 <listen address>

use std::convert::Infallible;

use http::{Response, StatusCode, header};
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: bench-302 <listen address>"))?;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(|_req| async {
                Ok::<_, Infallible>(
                    Response::builder()
                        .status(StatusCode::FOUND)
                        .header(header::LOCATION, "http://127.0.0.1:9/bucket/key?X-Amz-Signature=0")
                        .body(Empty::<Bytes>::new())
                        .unwrap_or_default(),
                )
            });
            let _ = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
