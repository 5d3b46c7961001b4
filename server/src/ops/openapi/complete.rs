//! Completes every operation of the document with the answers the server's shared layers give,
//! whatever the handler: `401` from the token extractor, `400`/`413`/`415` from the JSON body
//! extractor, `400 bad_query` from the query extractor, `500` from any handler. A handler's own
//! description of such a status is kept, with the shared codes it does not name appended. The
//! `405` every known path answers for a method it does not serve is one shared response.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{
    Content, ContentBuilder, ObjectBuilder, OpenApi, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::Modify;

/// Name of the shared `405` response in `components/responses`.
pub const METHOD_NOT_ALLOWED: &str = "MethodNotAllowed";

/// Adds the shared answers to every operation (see the module documentation).
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                complete(op);
            }
        }
        let components = openapi.components.get_or_insert_with(Default::default);
        components.responses.insert(
            METHOD_NOT_ALLOWED.to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(
                        "`method_not_allowed`: every known path answers a method it does not \
                         serve with 405, an `Allow` header listing the methods it serves, and \
                         an `ErrorBody`.",
                    )
                    .header(
                        "Allow",
                        HeaderBuilder::new()
                            .schema(ObjectBuilder::new().schema_type(Type::String))
                            .description(Some("The methods the path serves, e.g. `GET, POST`."))
                            .build(),
                    )
                    .content("application/json", error_content())
                    .build(),
            ),
        );
    }
}

fn error_content() -> Content {
    ContentBuilder::new()
        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
            "ErrorBody",
        ))))
        .build()
}

/// Adds `status` with `text`, or appends to its description the `codes` it does not name yet.
fn ensure(op: &mut Operation, status: &str, text: &str, codes: &[(&str, &str)]) {
    let response = op
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(text)
                    .content("application/json", error_content())
                    .build(),
            )
        });
    if let RefOr::T(Response { description, .. }) = response {
        for (code, meaning) in codes {
            if !description.contains(&format!("`{code}`")) {
                let sep = if description.is_empty() { "" } else { " " };
                *description = format!("{description}{sep}`{code}`: {meaning}.");
            }
        }
    }
}

fn complete(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    if secured {
        ensure(
            op,
            "401",
            "",
            &[
                (
                    "unauthorized",
                    "no, a malformed or a refused access token, or its user no longer exists",
                ),
                ("token_expired", "the access token has expired; refresh it"),
                (
                    "account_disabled",
                    "the token's user was deactivated; ask an admin",
                ),
            ],
        );
    }
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    if json_body {
        ensure(
            op,
            "400",
            "",
            &[(
                "malformed_json",
                "the body is not JSON of the documented shape (a missing or unknown field, a \
                 wrong type, a value out of range)",
            )],
        );
        ensure(
            op,
            "413",
            "",
            &[("body_too_large", "the JSON body exceeds 1 MiB")],
        );
        ensure(
            op,
            "415",
            "",
            &[(
                "unsupported_media_type",
                "send the body with `Content-Type: application/json`",
            )],
        );
    }
    let has_query = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Query))
    });
    if has_query {
        ensure(
            op,
            "400",
            "",
            &[(
                "bad_query",
                "an unknown query parameter, or a value that is not of the documented type",
            )],
        );
    }
    ensure(
        op,
        "500",
        "",
        &[(
            "internal",
            "the server failed; the cause is logged and nothing of the request is committed",
        )],
    );
}
