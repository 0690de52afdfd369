//! The floor for the gateway's hop: a bare hyper reverse proxy (pooled client, no routing,
//! no limits, no metrics) in front of one upstream. With `bench-302` behind it, it is the
//! two-hop floor `make bench` measures arca's gateway against.
//! Usage: bench-proxy <listen address> <upstream base URL>

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(upstream)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: bench-proxy <listen address> <upstream base URL>");
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Incoming> =
        Client::builder(TokioExecutor::new()).pool_max_idle_per_host(256).build(connector);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let (client, upstream) = (client.clone(), upstream.clone());
        tokio::spawn(async move {
            let service = service_fn(move |mut req: Request<Incoming>| {
                let (client, upstream) = (client.clone(), upstream.clone());
                async move {
                    let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
                    if let Ok(uri) = format!("{upstream}{path}").parse() {
                        *req.uri_mut() = uri;
                    }
                    match client.request(req).await {
                        Ok(resp) => Ok::<_, hyper::Error>(resp.map(http_body_util::Either::Left)),
                        Err(_) => {
                            let mut resp = Response::new(http_body_util::Either::Right(http_body_util::Empty::new()));
                            *resp.status_mut() = StatusCode::BAD_GATEWAY;
                            Ok(resp)
                        }
                    }
                }
            });
            let _ = Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(stream), service).await;
        });
    }
}
