use super::*;

/// A shortened dump in the format of `aarch64-linux-gnu-objdump -d --no-show-raw-insn -C`:
/// a kernel with an outer loop, a dense inner loop and a sparser tail loop.
const DUMP: &str = "
libbackend_arm_neon.rlib(x.o):     file format elf64-littleaarch64

Disassembly of section .text.backend_arm_neon::gemm_i16::neon_gemm_i16_4x16:

0000000000000000 <backend_arm_neon::gemm_i16::neon_gemm_i16_4x16>:
       0:\tcbz\tx8, 40 <backend_arm_neon::gemm_i16::neon_gemm_i16_4x16+0x40>
       4:\tldr\tq8, [x1], #16
       8:\tldp\tq24, q25, [x10]
       c:\tsmlal\tv23.4s, v24.4h, v8.h[0]
      10:\tsmlal2\tv18.4s, v24.8h, v8.h[0]
      14:\tsmlal\tv22.4s, v25.4h, v8.h[0]
      18:\tsmlal2\tv16.4s, v25.8h, v8.h[0]
      1c:\tsubs\tx9, x9, #0x1
      20:\tb.ne\t4 <backend_arm_neon::gemm_i16::neon_gemm_i16_4x16+0x4>  // b.any
      24:\tld1r\t{v8.4h}, [x2]
      28:\tsmlal\tv23.4s, v24.4h, v8.h[0]
      2c:\tadd\tx2, x2, #0x2
      30:\tmul\tx3, x3, x4
      34:\tcbnz\tx9, 24 <backend_arm_neon::gemm_i16::neon_gemm_i16_4x16+0x24>
      38:\tsubs\tx7, x7, #1
      3c:\tb.ne\t0 <backend_arm_neon::gemm_i16::neon_gemm_i16_4x16+0x0>  // b.any
      40:\tret

0000000000000000 <backend_arm_dotprod::gemm_dot::dotprod_gemm_s8s8_4x16c4>:
       0:\tldr\tq0, [x1]
       4:\tsdot\tv16.4s, v1.16b, v0.4b[0]
       8:\tbl\t0 <memcpy>
       c:\tb.ne\t0 <backend_arm_dotprod::gemm_dot::dotprod_gemm_s8s8_4x16c4>

0000000000000000 <backend_arm_dotprod::kernels::_::__ctor>:
       0:\tret
";

#[test]
fn parses_functions_and_instructions() {
    let f = parse_objdump(DUMP);
    assert_eq!(f.len(), 3);
    assert_eq!(f[0].symbol, "backend_arm_neon::gemm_i16::neon_gemm_i16_4x16");
    assert_eq!(f[0].insns.len(), 17);
    assert_eq!(
        f[0].insns[3],
        Insn { addr: 0xc, mnemonic: "smlal".into(), operands: "v23.4s, v24.4h, v8.h[0]".into() }
    );
    // Comments are dropped.
    assert_eq!(f[0].insns[8].operands, "4 <backend_arm_neon::gemm_i16::neon_gemm_i16_4x16+0x4>");
}

#[test]
fn branches_and_loops() {
    let f = &parse_objdump(DUMP)[0];
    let targets: Vec<Option<u64>> = f.insns.iter().map(branch_target).collect();
    assert_eq!(targets[0], Some(0x40));
    assert_eq!(targets[8], Some(0x4));
    assert_eq!(targets[13], Some(0x24));
    assert_eq!(targets[3], None);
    let all = loops(f);
    assert_eq!(all, vec![(1, 8), (9, 13), (0, 15)]);
    assert_eq!(innermost(&all), vec![(1, 8), (9, 13)]);
}

#[test]
fn macs_per_instruction() {
    assert_eq!(macs("smlal", "v23.4s, v24.4h, v8.h[0]"), 4);
    assert_eq!(macs("smlal2", "v18.4s, v24.8h, v8.h[0]"), 4);
    assert_eq!(macs("smull", "v1.8h, v2.8b, v3.8b"), 8);
    assert_eq!(macs("sadalp", "v1.4s, v2.8h"), 0);
    assert_eq!(macs("sdot", "v16.4s, v1.16b, v0.4b[2]"), 16);
    assert_eq!(macs("udot", "v16.4s, v1.16b, v0.16b"), 16);
    assert_eq!(macs("smmla", "v16.4s, v1.16b, v0.16b"), 32);
    assert_eq!(macs("mul", "x3, x3, x4"), 0, "scalar address arithmetic");
    assert_eq!(macs("mla", "v0.8h, v1.8h, v2.8h"), 8);
}

#[test]
fn the_hot_loop_is_the_densest_innermost_one() {
    let f = &parse_objdump(DUMP)[0];
    let (span, s) = hot_loop(f).unwrap();
    assert_eq!(span, (1, 8));
    assert_eq!(s, LoopStats { instructions: 8, loads: 2, multiplies: 4, macs: 16, calls: 0 });
}

#[test]
fn rows_compare_with_peers_and_flag_calls() {
    let rows = rows(&parse_objdump(DUMP));
    assert_eq!(rows.len(), 2, "the constructor has no loop");
    let dot = &rows[0];
    assert_eq!(dot.kernel, "dotprod_gemm_s8s8_4x16c4");
    assert!(dot.problem().unwrap().contains("calls a function"));
    let neon = &rows[1];
    assert_eq!((neon.macs_per_multiply(), neon.macs_per_instruction()), (4.0, 2.0));
    assert_eq!(neon.peer.unwrap().macs_per_multiply, 4.0);
    assert_eq!(neon.problem(), None);
    let table = format(&rows);
    assert!(table.contains("neon_gemm_i16_4x16") && table.contains("XNNPACK A53"), "{table}");
    // Below its peer: a GEMM loop of smull without the pairwise form would be 8; 4 fails.
    let mut slow = neon.clone();
    slow.kernel = "neon_gemm_s8s8_4x4c16_sadalp".into();
    slow.peer = peer(&slow.kernel);
    assert!(slow.problem().unwrap().contains("below 8"));
}

#[test]
fn kernel_names_peers_and_useful_fractions() {
    assert_eq!(
        kernel_name("backend_arm_neon::depthwise::neon_dw_i16_16_t3"),
        Some("neon_dw_i16_16_t3")
    );
    assert_eq!(kernel_name("backend_arm_neon::descriptor::probe"), None);
    assert_eq!(peer("i8mm_gemm_s8s8_6x16c8").unwrap().macs_per_multiply, 32.0);
    assert_eq!(peer("dotprod_gemm_u8u8_1x32c4").unwrap().macs_per_multiply, 16.0);
    assert!(peer("neon_gemm_s8s8_4x4c16_mlal").unwrap().what.contains("smlal2"));
    assert_eq!(peer("neon_dw_s8s8_16_plain"), None);
    assert_eq!(useful_fraction("dotprod_dw_s8s8_16_plain"), 0.25);
    assert_eq!(useful_fraction("dotprod_dw_u8u8_16_t3"), 0.125);
    assert_eq!(useful_fraction("neon_gemm_i16_4x16"), 1.0);
}
