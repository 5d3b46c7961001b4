//! The signature seal: what the customer signed, and whether it changed afterwards.
//!
//! Signing records the document heads at the moment of signing and a SHA-256 digest of the
//! signed content. [`WorkOrder::verify_signature`] rebuilds the document as it was at those
//! heads (`fork_at`), folds it, and compares the signed content with today's, so any later
//! change, made on this device or merged in from another, is found and named.

use serde::{Deserialize, Serialize};

use super::model::{OldPart, PhotoKind, QuoteItem};
use super::view::View;
use super::{parse_heads, view_of, WorkOrder, WorkOrderError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPart {
    pub line: String,
    pub sku: String,
    pub qty: u32,
    pub serial_new: String,
    pub serial_old: String,
    pub price_cents: i64,
    pub old_part: OldPart,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPhoto {
    pub photo: String,
    pub blob: String,
    pub kind: PhotoKind,
    pub caption: String,
}

/// The part of a work order a customer's signature confirms: diagnosis, charges and consent,
/// parts, photos and the work done (the functional test).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedContent {
    pub diagnosis: Option<(String, Vec<String>)>,
    pub charges: Vec<QuoteItem>,
    pub consent: Option<String>,
    pub parts: Vec<SignedPart>,
    pub photos: Vec<SignedPhoto>,
    pub test: Option<(bool, String)>,
}

impl SignedContent {
    pub fn of(view: &View) -> Self {
        SignedContent {
            diagnosis: view
                .diagnosis
                .as_ref()
                .map(|d| (d.cause.clone(), d.solutions.clone())),
            charges: view
                .quote
                .as_ref()
                .map(|q| q.items.clone())
                .unwrap_or_default(),
            consent: view.consent.as_ref().map(|c| c.by_name.clone()),
            parts: view
                .active_parts()
                .map(|p| SignedPart {
                    line: p.line.clone(),
                    sku: p.sku.clone(),
                    qty: p.qty,
                    serial_new: p.serial_new.clone(),
                    serial_old: p.serial_old.clone(),
                    price_cents: p.price_cents,
                    old_part: p.old_part,
                })
                .collect(),
            photos: view
                .active_photos()
                .map(|p| SignedPhoto {
                    photo: p.photo.clone(),
                    blob: p.blob.clone(),
                    kind: p.kind,
                    caption: p.caption.clone(),
                })
                .collect(),
            test: view.test.as_ref().map(|t| (t.passed, t.details.clone())),
        }
    }

    /// SHA-256 (hex) of the canonical encoding of this content.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        // postcard encoding of plain data cannot fail; an empty input would still hash.
        let bytes = postcard::to_stdvec(self).unwrap_or_default();
        hex::encode(sha2::Sha256::digest(bytes))
    }
}

/// One difference between what was signed and what the work order holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealChange {
    /// `parts`, `photos`, `diagnosis`, `charges`, `consent` or `test`.
    pub area: String,
    /// The part line or photo concerned, if any.
    pub item: Option<String>,
    pub signed: Option<String>,
    pub now: Option<String>,
}

/// The result of checking a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealReport {
    pub signer: String,
    pub signed_at: i64,
    pub signature_event: String,
    /// The content at the signed heads hashes to the digest recorded at signing.
    pub digest_matches: bool,
    /// Everything signed that has changed since, empty when the seal holds.
    pub changes: Vec<SealChange>,
}

impl SealReport {
    /// Nothing the customer signed has changed, and the record is consistent.
    pub fn intact(&self) -> bool {
        self.digest_matches && self.changes.is_empty()
    }
}

fn change(
    area: &str,
    item: Option<&str>,
    signed: Option<String>,
    now: Option<String>,
) -> SealChange {
    SealChange {
        area: area.to_owned(),
        item: item.map(str::to_owned),
        signed,
        now,
    }
}

fn debug<T: std::fmt::Debug>(v: &T) -> String {
    format!("{v:?}")
}

fn compare(signed: &SignedContent, now: &SignedContent) -> Vec<SealChange> {
    let mut out = Vec::new();
    if signed.diagnosis != now.diagnosis {
        out.push(change(
            "diagnosis",
            None,
            signed.diagnosis.as_ref().map(debug),
            now.diagnosis.as_ref().map(debug),
        ));
    }
    if signed.charges != now.charges {
        out.push(change(
            "charges",
            None,
            Some(debug(&signed.charges)),
            Some(debug(&now.charges)),
        ));
    }
    if signed.consent != now.consent {
        out.push(change(
            "consent",
            None,
            signed.consent.clone(),
            now.consent.clone(),
        ));
    }
    if signed.test != now.test {
        out.push(change(
            "test",
            None,
            signed.test.as_ref().map(debug),
            now.test.as_ref().map(debug),
        ));
    }
    for p in &signed.parts {
        match now.parts.iter().find(|q| q.line == p.line) {
            None => out.push(change("parts", Some(&p.line), Some(debug(p)), None)),
            Some(q) if q != p => out.push(change(
                "parts",
                Some(&p.line),
                Some(debug(p)),
                Some(debug(q)),
            )),
            Some(_) => {}
        }
    }
    for q in now
        .parts
        .iter()
        .filter(|q| !signed.parts.iter().any(|p| p.line == q.line))
    {
        out.push(change("parts", Some(&q.line), None, Some(debug(q))));
    }
    for p in &signed.photos {
        match now.photos.iter().find(|q| q.photo == p.photo) {
            None => out.push(change("photos", Some(&p.photo), Some(debug(p)), None)),
            Some(q) if q != p => out.push(change(
                "photos",
                Some(&p.photo),
                Some(debug(p)),
                Some(debug(q)),
            )),
            Some(_) => {}
        }
    }
    for q in now
        .photos
        .iter()
        .filter(|q| !signed.photos.iter().any(|p| p.photo == q.photo))
    {
        out.push(change("photos", Some(&q.photo), None, Some(debug(q))));
    }
    out
}

impl WorkOrder {
    /// Checks the customer's signature, if there is one: did anything the customer signed
    /// (parts, charges, diagnosis, work done, photos) change after signing, and what.
    pub fn verify_signature(&self) -> Result<Option<SealReport>, WorkOrderError> {
        let view = self.view()?;
        let Some(sig) = view.signature.as_ref() else {
            return Ok(None);
        };
        let heads = parse_heads(&sig.heads).ok_or(WorkOrderError::UnknownSignedHeads)?;
        if heads
            .iter()
            .any(|h| self.doc.get_change_meta_by_hash(h).is_none())
        {
            return Err(WorkOrderError::UnknownSignedHeads);
        }
        let then = self.doc.fork_at(&heads)?;
        let signed = SignedContent::of(&view_of(&then)?);
        let now = SignedContent::of(&view);
        Ok(Some(SealReport {
            signer: sig.signer.clone(),
            signed_at: sig.by.at,
            signature_event: sig.by.event.clone(),
            digest_matches: signed.digest() == sig.digest,
            changes: compare(&signed, &now),
        }))
    }
}
