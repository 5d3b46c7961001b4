//! Middleware that times every request and counts it by method, route pattern and status
//! ([`super::metrics::record_http`]).

use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use futures_util::future::LocalBoxFuture;

pub struct RecordHttp;

/// One request counted in [`super::metrics::HTTP_IN_FLIGHT`] until dropped (also when the
/// client goes away and the request's future is dropped unfinished).
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        metrics::gauge!(super::metrics::HTTP_IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(super::metrics::HTTP_IN_FLIGHT).decrement(1.0);
    }
}

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
        // Only the method is taken now: routing needs the request handle to be unique (it
        // writes the match info in place), so it must not be cloned before the call.
        let method = req.method().clone();
        let in_flight = InFlight::enter();
        let fut = self.service.call(req);
        Box::pin(async move {
            let res = fut.await;
            drop(in_flight);
            let (route, status) = match &res {
                Ok(r) => (r.request().match_pattern(), r.status()),
                // A failure below the handlers (they answer their own errors as responses):
                // the request is gone, so its route is unknown; counted as unmatched.
                Err(e) => (None, e.as_response_error().status_code()),
            };
            super::metrics::record_http(
                method.as_str(),
                route.as_deref(),
                status.as_u16(),
                started.elapsed(),
            );
            res
        })
    }
}
