//! Each stand-in against its scalar definition, on edge values (−128 · −128 four times,
//! 255 · 255 eight times, accumulators near the i32 limits). Skipped loudly on a CPU without
//! the feature (`QNN_REQUIRE_ALL_KERNELS=1` makes that a failure).

use core::arch::aarch64::*;

use super::{vdotq_laneq_s32, vdotq_laneq_u32, vdotq_s32, vdotq_u32, vmmlaq_s32, vmmlaq_u32};

fn available(feature: &str) -> bool {
    let detected = match feature {
        "dotprod" => std::arch::is_aarch64_feature_detected!("dotprod"),
        _ => std::arch::is_aarch64_feature_detected!("i8mm"),
    };
    if !detected {
        let require = std::env::var("QNN_REQUIRE_ALL_KERNELS").is_ok_and(|v| v == "1");
        assert!(!require, "the CPU lacks {feature} and QNN_REQUIRE_ALL_KERNELS=1");
        eprintln!("SKIPPED: the {feature} intrinsics: the CPU lacks {feature}");
    }
    detected
}

/// Bytes covering the extremes of both signednesses.
const B: [u8; 16] =
    [0x80, 0x80, 0x80, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x80, 1, 0, 0x7F, 0x7F, 3, 0xFE];
const C: [u8; 16] =
    [0x80, 0x80, 0x80, 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0x80, 0x7F, 0xFF, 9, 0x7F, 0x81, 5, 0x02];
const ACC: [i32; 4] = [7, -1, i32::MAX - 70_000, i32::MIN + 70_000];

#[target_feature(enable = "neon")]
fn vectors() -> (int32x4_t, int8x16_t, int8x16_t) {
    // SAFETY: loads from arrays of the right size.
    unsafe { (vld1q_s32(ACC.as_ptr()), vld1q_s8(B.as_ptr().cast()), vld1q_s8(C.as_ptr().cast())) }
}

#[target_feature(enable = "neon")]
fn lanes(v: int32x4_t) -> [i32; 4] {
    let mut o = [0i32; 4];
    // SAFETY: 4 lanes into 4 elements.
    unsafe { vst1q_s32(o.as_mut_ptr(), v) };
    o
}

fn s(i: usize, v: &[u8; 16]) -> i32 {
    i32::from(v[i] as i8)
}

fn u(i: usize, v: &[u8; 16]) -> i32 {
    i32::from(v[i])
}

#[test]
fn dot_products_match_their_definition() {
    if available("dotprod") {
        // SAFETY: dotprod was detected.
        unsafe { check_dot_products() };
    }
}

#[target_feature(enable = "neon,dotprod")]
fn check_dot_products() {
    let (a, b, c) = vectors();
    let (ua, ub, uc) = (vreinterpretq_u32_s32(a), vreinterpretq_u8_s8(b), vreinterpretq_u8_s8(c));
    let (sd, ud) = (vdotq_s32(a, b, c), vreinterpretq_s32_u32(vdotq_u32(ua, ub, uc)));
    let (sl, ul) =
        (vdotq_laneq_s32::<2>(a, b, c), vreinterpretq_s32_u32(vdotq_laneq_u32::<3>(ua, ub, uc)));
    for (i, &start) in ACC.iter().enumerate() {
        let dot = |f: fn(usize, &[u8; 16]) -> i32, lane: Option<usize>| {
            (0..4).fold(start, |acc, k| {
                let ck = lane.map_or(4 * i + k, |l| 4 * l + k);
                acc.wrapping_add(f(4 * i + k, &B).wrapping_mul(f(ck, &C)))
            })
        };
        assert_eq!(lanes(sd)[i], dot(s, None), "sdot lane {i}");
        assert_eq!(lanes(ud)[i], dot(u, None), "udot lane {i}");
        assert_eq!(lanes(sl)[i], dot(s, Some(2)), "sdot by element 2, lane {i}");
        assert_eq!(lanes(ul)[i], dot(u, Some(3)), "udot by element 3, lane {i}");
    }
    // (−128)·(−128)·4 = 65536: the widening is real.
    assert_eq!(lanes(sd)[0], 7 + 65536);
}

#[test]
fn matrix_multiplies_match_their_definition() {
    if available("i8mm") {
        // SAFETY: i8mm was detected.
        unsafe { check_matrix_multiplies() };
    }
}

#[target_feature(enable = "neon,i8mm")]
fn check_matrix_multiplies() {
    let (a, b, c) = vectors();
    let (ua, ub, uc) = (vreinterpretq_u32_s32(a), vreinterpretq_u8_s8(b), vreinterpretq_u8_s8(c));
    let (sm, um) = (vmmlaq_s32(a, b, c), vreinterpretq_s32_u32(vmmlaq_u32(ua, ub, uc)));
    for r in 0..2 {
        for col in 0..2 {
            let mm = |f: fn(usize, &[u8; 16]) -> i32| {
                (0..8).fold(ACC[2 * r + col], |acc, k| {
                    acc.wrapping_add(f(8 * r + k, &B).wrapping_mul(f(8 * col + k, &C)))
                })
            };
            assert_eq!(lanes(sm)[2 * r + col], mm(s), "smmla ({r}, {col})");
            assert_eq!(lanes(um)[2 * r + col], mm(u), "ummla ({r}, {col})");
        }
    }
}
