//! Middleware that times every request and counts it by method, route pattern and status
//! ([`super::metrics::record_http`]).

use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use futures_util::future::LocalBoxFuture;

pub struct RecordHttp;

impl<S, B> Transform<S, ServiceRequest> for RecordHttp
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RecordHttpMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RecordHttpMiddleware { service }))
    }
}

pub struct RecordHttpMiddleware<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for RecordHttpMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        // The request handle shares its routing state, so after the call it knows the matched
        // pattern, also when the inner service answers with an error instead of a response.
        let http = req.request().clone();
        let fut = self.service.call(req);
        Box::pin(async move {
            let res = fut.await;
            let status = match &res {
                Ok(r) => r.status(),
                Err(e) => e.as_response_error().status_code(),
            };
            super::metrics::record_http(
                http.method().as_str(),
                http.match_pattern().as_deref(),
                status.as_u16(),
                started.elapsed(),
            );
            res
        })
    }
}
