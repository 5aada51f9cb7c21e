//! Proofs of non-existence for pre-signed zones, chosen by bisection of the zone's NSEC chain
//! (canonical order, RFC 4035 section 3.1.3) or NSEC3 chain (hash order, RFC 5155 section 7.2).
//! Each adds authority items to the context; duplicates are written once.

use ring::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};

use super::{Auth, Ctx, Current, T_NSEC, T_NSEC3};
use crate::zone::{Chain, Denial, Zone};

fn push(ctx: &mut Ctx<'_>, item: Auth) {
    if !ctx.auth.contains(&item) {
        ctx.auth.push(item);
    }
}

/// Adds the NSEC RRset of node `id`, if one was found.
fn push_nsec(ctx: &mut Ctx<'_>, id: Option<u32>) {
    if let Some(id) = id {
        push(ctx, Auth::Rrset(id, T_NSEC));
    }
}

/// Adds the NSEC3 RRset of node `id`, if one was found.
fn push_nsec3(ctx: &mut Ctx<'_>, id: Option<u32>) {
    if let Some(id) = id {
        push(ctx, Auth::Rrset(id, T_NSEC3));
    }
}

/// The NSEC record (its node) whose owner is the greatest at or before `name` in canonical
/// order: it matches the name, or covers it.
fn nsec_at_or_before(chain: &Chain<Box<[u8]>>, name: &[u8]) -> Option<u32> {
    let key = apex_zone::dname::DName::from_wire(name)?.0.canonical_key();
    chain.at_or_before(&key[..])
}

/// The NSEC3 hash of a name (RFC 5155 section 5): iterated SHA-1 over name and salt, in a
/// stack buffer (a name is at most 255 octets, a salt at most 255).
pub fn nsec3_hash(name: &[u8], salt: &[u8], iterations: u16) -> [u8; 20] {
    let mut buf = [0u8; 255 + 255];
    let n = name.len().min(255);
    let s = salt.len().min(255);
    buf[..n].copy_from_slice(&name[..n]);
    buf[n..n + s].copy_from_slice(&salt[..s]);
    let mut h = digest(&SHA1_FOR_LEGACY_USE_ONLY, &buf[..n + s]);
    for _ in 0..iterations {
        buf[..20].copy_from_slice(h.as_ref());
        buf[20..20 + s].copy_from_slice(&salt[..s]);
        h = digest(&SHA1_FOR_LEGACY_USE_ONLY, &buf[..20 + s]);
    }
    let mut out = [0u8; 20];
    out.copy_from_slice(h.as_ref());
    out
}

/// The NSEC3 whose hash equals `hash`.
fn nsec3_matching(chain: &Chain3, hash: &[u8; 20]) -> Option<u32> {
    chain.matching(hash)
}

/// The NSEC3 whose span covers `hash` (the greatest below it, wrapping around the end).
fn nsec3_covering(chain: &Chain3, hash: &[u8; 20]) -> Option<u32> {
    chain.at_or_before(hash)
}

fn wildcard_of(encloser: &[u8]) -> Vec<u8> {
    let mut w = Vec::with_capacity(encloser.len() + 2);
    w.extend_from_slice(b"\x01*");
    w.extend_from_slice(encloser);
    w
}

/// An NSEC3 chain: nodes by hash.
type Chain3 = Chain<[u8; 20]>;

fn nsec3(zone: &Zone) -> Option<(&Chain3, &[u8], u16)> {
    match zone.denial() {
        Denial::Nsec3 {
            iterations,
            salt,
            chain,
        } => Some((chain, salt, *iterations)),
        _ => None,
    }
}

/// The closest encloser proof (RFC 5155 section 7.2.1): the NSEC3 matching the closest
/// encloser and the one covering the next closer name.
fn closest_encloser_proof(ctx: &mut Ctx<'_>, name: &Current, encloser: usize) {
    let Some((chain, salt, iterations)) = nsec3(ctx.zone) else {
        return;
    };
    let h = nsec3_hash(name.suffix(encloser), salt, iterations);
    push_nsec3(ctx, nsec3_matching(chain, &h));
    if encloser > 0 {
        let h = nsec3_hash(name.suffix(encloser - 1), salt, iterations);
        push_nsec3(ctx, nsec3_covering(chain, &h));
    }
}

/// NXDOMAIN: the name does not exist, and no wildcard could have answered.
pub(super) fn nxdomain_proof(ctx: &mut Ctx<'_>, name: &Current, encloser: usize, _enc_id: u32) {
    let zone = ctx.zone;
    match zone.denial() {
        Denial::None => {}
        Denial::Nsec(chain) => {
            push_nsec(ctx, nsec_at_or_before(chain, name.suffix(0)));
            push_nsec(
                ctx,
                nsec_at_or_before(chain, &wildcard_of(name.suffix(encloser))),
            );
        }
        Denial::Nsec3 {
            iterations,
            salt,
            chain,
        } => {
            closest_encloser_proof(ctx, name, encloser);
            let h = nsec3_hash(&wildcard_of(name.suffix(encloser)), salt, *iterations);
            push_nsec3(ctx, nsec3_covering(chain, &h));
        }
    }
}

/// NODATA: the name (or the wildcard that stands for it) exists without the type.
pub(super) fn nodata_proof(ctx: &mut Ctx<'_>, name: &Current, id: u32, wildcard: bool) {
    let zone = ctx.zone;
    match zone.denial() {
        Denial::None => {}
        Denial::Nsec(chain) => {
            if zone.rrset_of(zone.node(id), T_NSEC).is_some() {
                // The NSEC at the name (or at the wildcard) lists its types.
                push(ctx, Auth::Rrset(id, T_NSEC));
            } else if let Some(cover) = nsec_at_or_before(chain, zone.name(id)) {
                // An empty non-terminal: covered by the NSEC before it.
                push(ctx, Auth::Rrset(cover, T_NSEC));
            }
            if wildcard && let Some(cover) = nsec_at_or_before(chain, name.suffix(0)) {
                push(ctx, Auth::Rrset(cover, T_NSEC));
            }
        }
        Denial::Nsec3 {
            iterations,
            salt,
            chain,
        } => {
            if wildcard {
                // RFC 5155 section 7.2.5: closest encloser, next closer, and the wildcard.
                let encloser = (1..=name.count)
                    .find(|&j| zone.lookup(name.suffix(j)).is_some())
                    .unwrap_or(name.count);
                closest_encloser_proof(ctx, name, encloser);
                let h = nsec3_hash(zone.name(id), salt, *iterations);
                if let Some(m) = nsec3_matching(chain, &h) {
                    push(ctx, Auth::Rrset(m, T_NSEC3));
                }
                return;
            }
            let h = nsec3_hash(zone.name(id), salt, *iterations);
            match nsec3_matching(chain, &h) {
                Some(m) => push(ctx, Auth::Rrset(m, T_NSEC3)),
                // No NSEC3 for the name (opt-out, DS at an insecure delegation): the closest
                // provable encloser (RFC 5155 section 7.2.4).
                None => provable_encloser_proof(ctx, name, 0),
            }
        }
    }
}

/// A name answered by a wildcard: the name itself does not exist.
pub(super) fn wildcard_answer_proof(ctx: &mut Ctx<'_>, name: &Current, encloser: usize) {
    let zone = ctx.zone;
    match zone.denial() {
        Denial::None => {}
        Denial::Nsec(chain) => {
            push_nsec(ctx, nsec_at_or_before(chain, name.suffix(0)));
        }
        Denial::Nsec3 {
            iterations,
            salt,
            chain,
        } => {
            if encloser > 0 {
                let h = nsec3_hash(name.suffix(encloser - 1), salt, *iterations);
                push_nsec3(ctx, nsec3_covering(chain, &h));
            }
        }
    }
}

/// A referral to an unsigned delegation: there is no DS.
pub(super) fn no_ds_proof(ctx: &mut Ctx<'_>, cut: u32) {
    let zone = ctx.zone;
    match zone.denial() {
        Denial::None => {}
        Denial::Nsec(_) => {
            if zone.rrset_of(zone.node(cut), T_NSEC).is_some() {
                push(ctx, Auth::Rrset(cut, T_NSEC));
            }
        }
        Denial::Nsec3 {
            iterations,
            salt,
            chain,
        } => {
            let h = nsec3_hash(zone.name(cut), salt, *iterations);
            match nsec3_matching(chain, &h) {
                Some(m) => push(ctx, Auth::Rrset(m, T_NSEC3)),
                None => {
                    if let Some(cur) = Current::of_wire(zone.name(cut)) {
                        provable_encloser_proof(ctx, &cur, 0);
                    }
                }
            }
        }
    }
}

/// The closest provable encloser of `name` (an ancestor with a matching NSEC3) and the NSEC3
/// covering the next closer name: the opt-out proof (RFC 5155 sections 7.2.4 and 7.2.7).
fn provable_encloser_proof(ctx: &mut Ctx<'_>, name: &Current, from: usize) {
    let Some((chain, salt, iterations)) = nsec3(ctx.zone) else {
        return;
    };
    for j in from + 1..=name.count {
        let h = nsec3_hash(name.suffix(j), salt, iterations);
        if let Some(m) = nsec3_matching(chain, &h) {
            push(ctx, Auth::Rrset(m, T_NSEC3));
            let next = nsec3_hash(name.suffix(j - 1), salt, iterations);
            if let Some(c) = nsec3_covering(chain, &next) {
                push(ctx, Auth::Rrset(c, T_NSEC3));
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc5155_hashes() {
        // RFC 5155 appendix A: salt aabbccdd, 12 iterations. H(example) = 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.
        let salt = [0xaa, 0xbb, 0xcc, 0xdd];
        let h = nsec3_hash(b"\x07example\x00", &salt, 12);
        assert_eq!(
            Some(h),
            crate::zone::base32hex(b"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom")
        );
        let h = nsec3_hash(b"\x01a\x07example\x00", &salt, 12);
        assert_eq!(
            Some(h),
            crate::zone::base32hex(b"35mthgpgcu1qg68fab165klnsnk3dpvl")
        );
    }
}
