/* C side of the C interop test (compiler/tests/c_interop.rs). Compiled twice: once for
 * the System V convention, once with -DMS for Win64 (`ms_abi`, names suffixed `_w`).
 *
 * For every aggregate type T: `T add_T(T a, long k)` adds k to every scalar leaf,
 * `T apply_T(T (*f)(T, long), T a, long k)` calls f through a pointer. `sum_many` adds
 * every leaf of ten mixed arguments (eight aggregates, a long and a double) in order;
 * `apply_many` calls a function with that signature through a pointer. */

#ifdef MS
#define ABI __attribute__((ms_abi))
#define N(x) x##_w
#else
#define ABI
#define N(x) x
#endif

typedef struct { int a; int b; } SmallInt;                /* 8: INTEGER */
typedef struct { long a; double d; } MixedID;             /* 16: INTEGER, SSE */
typedef struct { double x; double y; } Float2;            /* 16: SSE, SSE */
typedef struct { float x, y, z; } Float3;                 /* 12: SSE, SSE */
typedef struct { int a[3]; } Int12;                       /* 12: INTEGER, INTEGER */
typedef struct { long a, b, c; } Big24;                   /* 24: MEMORY */
typedef struct { signed char c[3]; } Bytes3;              /* 3: INTEGER */
typedef struct { float f; int i; } FloatInt;              /* 8: INTEGER (mixed) */
typedef struct { double d; float f[2]; } DoubleFloats;    /* 16: SSE, SSE (array) */
typedef struct { float f; } Single;                       /* 4: SSE; Win64: GPR */

#define EACH(X) X(SmallInt) X(MixedID) X(Float2) X(Float3) X(Int12) X(Big24) \
    X(Bytes3) X(FloatInt) X(DoubleFloats) X(Single)

ABI SmallInt N(add_SmallInt)(SmallInt v, long k) { v.a += (int)k; v.b += (int)k; return v; }
ABI MixedID N(add_MixedID)(MixedID v, long k) { v.a += k; v.d += (double)k; return v; }
ABI Float2 N(add_Float2)(Float2 v, long k) { v.x += (double)k; v.y += (double)k; return v; }
ABI Float3 N(add_Float3)(Float3 v, long k) {
    v.x += (float)k; v.y += (float)k; v.z += (float)k; return v;
}
ABI Int12 N(add_Int12)(Int12 v, long k) {
    for (int i = 0; i < 3; i++) v.a[i] += (int)k;
    return v;
}
ABI Big24 N(add_Big24)(Big24 v, long k) { v.a += k; v.b += k; v.c += k; return v; }
ABI Bytes3 N(add_Bytes3)(Bytes3 v, long k) {
    for (int i = 0; i < 3; i++) v.c[i] = (signed char)(v.c[i] + k);
    return v;
}
ABI FloatInt N(add_FloatInt)(FloatInt v, long k) { v.f += (float)k; v.i += (int)k; return v; }
ABI DoubleFloats N(add_DoubleFloats)(DoubleFloats v, long k) {
    v.d += (double)k; v.f[0] += (float)k; v.f[1] += (float)k; return v;
}
ABI Single N(add_Single)(Single v, long k) { v.f += (float)k; return v; }

#define APPLY(T) \
    ABI T N(apply_##T)(T (ABI *f)(T, long), T a, long k) { return f(a, k); }
EACH(APPLY)

ABI double N(sum_many)(SmallInt a, MixedID b, Float2 c, Float3 d, Int12 e, Big24 f,
                       Bytes3 g, FloatInt h, long i, double j, DoubleFloats l, Single m) {
    double s = 0;
    s += a.a; s += a.b;
    s += b.a; s += b.d;
    s += c.x; s += c.y;
    s += d.x; s += d.y; s += d.z;
    s += e.a[0]; s += e.a[1]; s += e.a[2];
    s += f.a; s += f.b; s += f.c;
    s += g.c[0]; s += g.c[1]; s += g.c[2];
    s += h.f; s += h.i;
    s += i;
    s += j;
    s += l.d; s += l.f[0]; s += l.f[1];
    s += m.f;
    return s;
}

ABI double N(apply_many)(double (ABI *fp)(SmallInt, MixedID, Float2, Float3, Int12, Big24,
                                          Bytes3, FloatInt, long, double, DoubleFloats,
                                          Single),
                         SmallInt a, MixedID b, Float2 c, Float3 d, Int12 e, Big24 f,
                         Bytes3 g, FloatInt h, long i, double j, DoubleFloats l, Single m) {
    return fp(a, b, c, d, e, f, g, h, i, j, l, m);
}
