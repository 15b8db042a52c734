//! The back end overlapped with IR generation on its own thread (`backend::pipeline`)
//! against the same per-function back end run inline: same bytes, same printed LIR and
//! assembly, same diagnostics, whatever the thread timing.

use crate::compilation::Options;
use crate::session::{CompileError, Compiled, Session};
use meteor_linker::Target;

/// `n` functions, each with a struct local (aggregates added while bodies are generated),
/// float constants (the constant pool), a dense switch (a jump table in the pool), a
/// string literal (globals added while bodies are generated) and a call to the previous
/// one; `extra` is appended.
fn program(n: usize, extra: &str) -> String {
    let mut s = String::from("import std.io;\n");
    for k in 0..n {
        let call = if k > 0 {
            format!("fn_{}(x - 1, y)", k - 1)
        } else {
            "x".into()
        };
        s.push_str(&format!(
            "struct S{k} {{ i64 a; f64 b; i32 c; }}
i64 fn_{k}(i64 x, f64 y) {{
    S{k} s;
    s.a = x + {k};
    s.b = y * 1.5 + {k}.25;
    switch (x % 6) {{
        0 {{ s.a += 3; }}
        1 {{ s.a += 5; }}
        2 {{ s.a -= 7; }}
        3 {{ s.a *= 2; }}
        4 {{ s.a += 11; }}
        else {{ s.a += 1; }}
    }}
    if (s.b > 10.0) s.a += 1;
    if (x == 12345) println(\"fn_{k}\");
    if (x > 0) return s.a + {call};
    return s.a;
}}
"
        ));
    }
    s.push_str(extra);
    s
}

fn build(
    target: Target,
    threaded: bool,
    print: bool,
    text: &str,
) -> Result<Compiled, CompileError> {
    let mut o = Options::new(target, false);
    o.back_end_thread = Some(threaded);
    o.print.lir = print;
    o.print.asm = print;
    let mut s = Session::with_options(o);
    s.add_source("main.vx", text);
    s.compile()
}

#[test]
fn threaded_back_end_builds_the_same_bytes_as_inline() {
    let text = program(
        300,
        "i32 main() { return cast(i32)(fn_299(20, 2.0) % 100); }\n",
    );
    for target in [Target::LinuxX64, Target::WindowsX64] {
        let exe = |threaded| {
            let c =
                build(target, threaded, false, &text).unwrap_or_else(|e| panic!("{}", e.rendered));
            c.link_executable().expect("link")
        };
        let inline = exe(false);
        for _ in 0..3 {
            assert!(
                exe(true) == inline,
                "{target}: threaded and inline builds differ"
            );
        }
    }
    let printed = |threaded| {
        build(Target::LinuxX64, threaded, true, &text)
            .unwrap_or_else(|e| panic!("{}", e.rendered))
            .printed
    };
    let inline = printed(false);
    assert!(inline.contains("; LIR after register allocation\nlir @main.fn_0 {"));
    assert!(inline.contains("\nmain.fn_299:\n"));
    assert_eq!(printed(true), inline);
}

#[test]
fn threaded_back_end_reports_the_same_errors_as_inline() {
    let text = program(
        200,
        "i32 main() { u8[600000000] a; u8[600000000] b; a[5] = 3; b[1] = 2; return a[5] + b[1]; }\n",
    );
    let errors = |threaded| match build(Target::LinuxX64, threaded, false, &text) {
        Ok(_) => panic!("a 1.2 GB frame was accepted"),
        Err(e) => e.rendered,
    };
    let inline = errors(false);
    assert!(
        inline.contains("the stack frame of `main.main` needs"),
        "{inline}"
    );
    assert_eq!(errors(true), inline);
}

#[test]
fn a_panic_on_the_worker_is_a_diagnostic() {
    let text = program(
        150,
        "void meteor_test_backend_panic() {}\ni32 main() { meteor_test_backend_panic(); return 0; }\n",
    );
    match build(Target::LinuxX64, true, false, &text) {
        Ok(_) => panic!("the back end's panic went unnoticed"),
        Err(e) => assert!(
            e.rendered
                .contains("internal compiler error: the back end panicked: test panic"),
            "{}",
            e.rendered
        ),
    }
}

#[test]
fn threaded_back_end_runs_in_the_jit() {
    let text = program(
        300,
        "i32 main() { return cast(i32)(fn_299(20, 2.0) % 100); }\n",
    );
    let run = |threaded| {
        let mut s = Session::jit();
        s.options.back_end_thread = Some(threaded);
        s.add_source("main.vx", &text);
        let c = s.compile().unwrap_or_else(|e| panic!("{}", e.rendered));
        let p = s.load(&c).expect("load");
        p.run_main().expect("main")
    };
    let inline = run(false);
    assert_eq!(run(true), inline);
}

#[test]
fn code_encoded_out_of_order_is_laid_out_by_func_id() {
    use super::build::*;
    use crate::backend::encode::Code;
    use crate::ir::*;
    let mut m = Module::new(Target::LinuxX64);
    let mut fb = Fb::new();
    let k = fb.iconst(Type::I32, 21);
    fb.ret(Some(k));
    let f0 = add_fn(&mut m, "main.f0", sig(&[], Some(Type::I32)), fb);
    let mut fb = Fb::new();
    let r = fb.call(f0, Some(Type::I32), &[]);
    let two = fb.iconst(Type::I32, 2);
    let r2 = fb.bin(BinOp::Mul, Type::I32, r, two);
    fb.ret(Some(r2));
    let f1 = add_fn(&mut m, "main.f1", sig(&[], Some(Type::I32)), fb);
    let mut fb = Fb::new();
    let a = fb.call(f0, Some(Type::I32), &[]);
    let b = fb.call(f1, Some(Type::I32), &[]);
    let s = fb.bin(BinOp::Add, Type::I32, a, b);
    fb.ret(Some(s));
    add_fn(&mut m, "main.f2", sig(&[], Some(Type::I32)), fb);
    let c = compile(m);
    let encode = |order: &[usize]| {
        let mut code = Code::default();
        for &i in order {
            let mf = c.back.funcs[i].as_ref().expect("compiled");
            code.push(mf, FuncId(i as u32));
        }
        code.into_func_order()
    };
    let (a, b) = (encode(&[0, 1, 2]), encode(&[2, 0, 1]));
    assert_eq!(a.asm.relocs.len(), 3);
    assert_eq!(a.asm.buf, b.asm.buf);
    assert_eq!(a.asm.relocs, b.asm.relocs);
    assert_eq!(a.ranges, b.ranges);
    let text = c
        .object
        .sections
        .iter()
        .find(|s| s.name == ".text")
        .expect("text");
    assert_eq!(text.data, a.asm.buf);
}
