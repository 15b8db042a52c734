/* C side of the Vox-level C interop test (compiler/tests/vox_c_interop.rs). Built as a
 * shared library with the `cc` crate's compiler and loaded with dlopen; the test registers
 * the addresses of these functions as host symbols of a JIT session.
 *
 * With -DMS every function uses the Win64 convention (`ms_abi`) and gets the suffix `_w`;
 * the same Vox program is then compiled for windows-x64 and called through `extern "win64"`. */
#include <stdint.h>

#ifdef MS
#define ABI __attribute__((ms_abi))
#define N(x) x##_w
#else
#define ABI
#define N(x) x
#endif

typedef struct { int32_t a; int32_t b; } SmallInt;            /* 8: INTEGER */
typedef struct { int64_t a; double d; } Mixed;                /* 16: INTEGER, SSE */
typedef struct { float x, y, z; } Float3;                     /* 12: SSE, SSE */
typedef struct { double x, y; } Float2;                       /* 16: SSE, SSE */
typedef struct { int64_t a, b, c; } Big24;                    /* 24: MEMORY */
typedef struct { int32_t v[3]; uint8_t tag; } WithArray;      /* 16: INTEGER, INTEGER */
typedef struct { float f[2]; double d; } FloatArray;          /* 16: SSE, SSE */
typedef struct { uint64_t length; const uint8_t *ptr; } Slice; /* Vox u8[] */
typedef union { double d; float f[2]; } FloatUnion;           /* 8: SSE */
typedef union { float f; int32_t i; } IntFloatUnion;          /* 4: INTEGER */
typedef struct { float x; union { float a; float b; } u; } PairU; /* 8: SSE */

ABI SmallInt N(c_small)(SmallInt s, int32_t k) {
    SmallInt r = { s.a * k, s.b + k };
    return r;
}
ABI Mixed N(c_mixed)(Mixed m, double scale) {
    Mixed r = { m.a + 1, m.d * scale };
    return r;
}
ABI Float3 N(c_float3)(Float3 p, float k) {
    Float3 r = { p.x + k, p.y * k, p.z - k };
    return r;
}
ABI double N(c_dot2)(Float2 a, Float2 b) { return a.x * b.x + a.y * b.y; }
ABI Big24 N(c_big)(Big24 v, int64_t k) {
    Big24 r = { v.c + k, v.b + k, v.a + k };
    return r;
}
ABI WithArray N(c_array)(WithArray w) {
    WithArray r = { { w.v[2], w.v[1], w.v[0] }, (uint8_t)(w.tag + 1) };
    return r;
}
ABI FloatArray N(c_float_array)(FloatArray f) {
    FloatArray r = { { f.f[1], f.f[0] }, f.d * 2.0 };
    return r;
}
/* Seven integer-class and nine float arguments: the last ones go on the stack. */
ABI int64_t N(c_many)(int8_t a, int16_t b, int32_t c, int64_t d, uint8_t e, uint16_t f,
                      uint32_t g, uint64_t h) {
    return (int64_t)a + (int64_t)b * 10 + (int64_t)c * 100 + d * 1000 + (int64_t)e * 10000
        + (int64_t)f * 100000 + (int64_t)g * 1000000 + (int64_t)h * 10000000;
}
ABI double N(c_many_floats)(double a, float b, double c, float d, double e, float f, double g,
                            float h, double i, int32_t j) {
    return a + b * 2 + c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8 + i * 9 + j * 10;
}
ABI uint64_t N(c_count)(Slice s, uint8_t ch) {
    uint64_t n = 0;
    for (uint64_t i = 0; i < s.length; i++)
        if (s.ptr[i] == ch) n++;
    return n;
}
ABI Slice N(c_tail)(Slice s, uint64_t from) {
    Slice r = { s.length - from, s.ptr + from };
    return r;
}

ABI double N(c_union_double)(FloatUnion u) { return u.d * 2; }
ABI FloatUnion N(c_union_floats)(FloatUnion u) {
    FloatUnion r;
    r.f[0] = u.f[1];
    r.f[1] = u.f[0] + 1;
    return r;
}
ABI int32_t N(c_int_float)(IntFloatUnion u) { return u.i + 1; }
ABI float N(c_pair)(PairU p) { return p.x + p.u.b; }

/* C -> Vox: call Vox functions through pointers. */
ABI SmallInt N(c_apply_small)(SmallInt (ABI *f)(SmallInt, int32_t), SmallInt s) {
    return f(f(s, 2), 3);
}
ABI Mixed N(c_apply_mixed)(Mixed (ABI *f)(Mixed, double), Mixed m) { return f(m, 0.5); }
ABI Float3 N(c_apply_float3)(Float3 (ABI *f)(Float3, float), Float3 p) { return f(p, 2.0f); }
ABI Big24 N(c_apply_big)(Big24 (ABI *f)(Big24, int64_t), Big24 v) { return f(v, 100); }
ABI WithArray N(c_apply_array)(WithArray (ABI *f)(WithArray), WithArray w) { return f(w); }
ABI FloatArray N(c_apply_float_array)(FloatArray (ABI *f)(FloatArray), FloatArray v) {
    return f(v);
}
ABI int64_t N(c_apply_many)(int64_t (ABI *f)(int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t,
                                             uint32_t, uint64_t)) {
    return f(-1, 2, -3, 4, 5, 6, 7, 8);
}
ABI double N(c_apply_many_floats)(double (ABI *f)(double, float, double, float, double, float,
                                                  double, float, double, int32_t)) {
    return f(1.5, 2.5f, 3.5, 4.5f, 5.5, 6.5f, 7.5, 8.5f, 9.5, -2);
}
ABI uint64_t N(c_apply_slice)(Slice (ABI *f)(Slice, uint64_t), const char *text, uint64_t len) {
    Slice s = { len, (const uint8_t *)text };
    Slice r = f(s, 2);
    return r.length * 1000 + r.ptr[0];
}
ABI double N(c_apply_union)(FloatUnion (ABI *f)(FloatUnion, double), float a, float b) {
    FloatUnion u;
    u.f[0] = a;
    u.f[1] = b;
    FloatUnion r = f(u, 0.5);
    return r.d;
}
