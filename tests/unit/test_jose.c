/* test_jose.c - base64url, compact JWS, JWT claims, HS256/RS256/ES256 and JWKS. */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cases.h"
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "alloc.h"
#include "jose.h"
#include "jwks.h"

/* ------------------------------------------------------------------ RFC 7515 vectors */

/* Appendix A.1: HS256.  The JWS, its key, and the pieces it is made of. */
#define A1_HEADER_B64	"eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
#define A1_PAYLOAD_B64	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
			"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define A1_SIG_B64	"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define A1_JWS		A1_HEADER_B64 "." A1_PAYLOAD_B64 "." A1_SIG_B64
#define A1_HEADER	"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}"
#define A1_PAYLOAD	"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n " \
			"\"http://example.com/is_root\":true}"
#define A1_K		"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75" \
			"aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"

static const unsigned char a1_key[64] = {
	3, 35, 53, 75, 43, 15, 165, 188, 131, 126, 6, 101, 119, 123, 166,
	143, 90, 179, 40, 230, 240, 84, 201, 40, 169, 15, 132, 178, 210, 80,
	46, 191, 211, 251, 90, 146, 210, 6, 71, 239, 150, 138, 180, 195, 119,
	98, 61, 34, 61, 46, 33, 114, 5, 46, 79, 8, 192, 205, 154, 245, 103,
	208, 128, 163
};

static const unsigned char a1_mac[32] = {
	116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173,
	187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83,
	132, 141, 121
};

/* Appendix A.2: RS256, with the public half of the RFC's RSA key. */
#define A2_JWS \
	"eyJhbGciOiJSUzI1NiJ9" \
	"." A1_PAYLOAD_B64 "." \
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7" \
	"AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" \
	"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K" \
	"0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" \
	"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB" \
	"p0igcN_IoypGlUPQGe77Rw"
#define A2_N \
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx" \
	"HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs" \
	"D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH" \
	"SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV" \
	"MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8" \
	"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
#define A2_E		"AQAB"
#define A2_JWK_KID(kid)	"{\"kty\":\"RSA\",\"kid\":\"" kid "\",\"n\":\"" A2_N "\",\"e\":\"" A2_E "\"}"
#define A2_JWK		"{\"kty\":\"RSA\",\"n\":\"" A2_N "\",\"e\":\"" A2_E "\"}"

/* Appendix A.3: ES256.  Its signature is randomised; this one must still verify. */
#define A3_JWS \
	"eyJhbGciOiJFUzI1NiJ9" \
	"." A1_PAYLOAD_B64 "." \
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA" \
	"pmWQxfKTUJqPP3-Kg6NU1Q"
#define A3_X		"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y		"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_JWK		"{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}"

#define JWKS(...)	"{\"keys\":[" __VA_ARGS__ "]}"

/* ------------------------------------------------------------------ helpers */

static struct jwks *
jwks_of(const char *json)
{
	char err[256] = "";
	struct jwks *set = jwks_parse(json, strlen(json), err, sizeof(err));

	if (set == NULL)
		fail_msg("jwks_parse: %s", err);
	return set;
}

/* header.payload.signature from a header of hl bytes (NULs allowed), a payload and raw signature bytes. */
static char *
token_raw(const char *header, size_t hl, const char *payload,
    const unsigned char *sig, size_t siglen)
{
	size_t pl = strlen(payload);
	char *t = malloc(B64URL_LEN(hl) + B64URL_LEN(pl) + B64URL_LEN(siglen) + 3), *p;

	assert_non_null(t);
	p = t + b64url_encode(t, (const unsigned char *)header, hl);
	*p++ = '.';
	p += b64url_encode(p, (const unsigned char *)payload, pl);
	*p++ = '.';
	b64url_encode(p, sig, siglen);
	return t;
}

static char *
token_of(const char *header, const char *payload, const unsigned char *sig,
    size_t siglen)
{
	return token_raw(header, strlen(header), payload, sig, siglen);
}

/* A token signed by key with SHA-256: RSA PKCS#1 v1.5, or ECDSA as r || s (or as DER). */
static char *
token_signed(EVP_PKEY *key, const char *header, const char *payload, int ecdsa_der)
{
	unsigned char sig[1024], raw[132];
	size_t siglen = sizeof(sig);
	char *t = token_of(header, payload, (const unsigned char *)"", 0), *out;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	t[strlen(t) - 1] = '\0';	/* the signing input, without its trailing '.' */
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, (unsigned char *)t, strlen(t)), 1);
	EVP_MD_CTX_free(md);
	if (EVP_PKEY_is_a(key, "EC") && !ecdsa_der) {
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		int half = (EVP_PKEY_get_bits(key) + 7) / 8;	/* 32 for P-256 */
		const BIGNUM *r, *s;

		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		assert_int_equal(BN_bn2binpad(r, raw, half), half);
		assert_int_equal(BN_bn2binpad(s, raw + half, half), half);
		ECDSA_SIG_free(es);
		siglen = (size_t)half * 2;
		memcpy(sig, raw, siglen);
	}
	out = malloc(strlen(t) + B64URL_LEN(siglen) + 2);
	assert_non_null(out);
	sprintf(out, "%s.", t);
	b64url_encode(out + strlen(out), sig, siglen);
	free(t);
	return out;
}

/* A big number parameter of key in base64url, left-padded with zeros to pad bytes. */
static char *
b64_param(EVP_PKEY *key, const char *name, size_t pad)
{
	unsigned char buf[1024];
	BIGNUM *bn = NULL;
	char *s;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(key, name, &bn), 1);
	n = pad > 0 ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
	assert_true(n > 0);
	BN_free(bn);
	s = malloc(B64URL_LEN((size_t)n) + 1);
	assert_non_null(s);
	b64url_encode(s, buf, (size_t)n);
	return s;
}

/* {"kty":"RSA",<members>"n":...,"e":...}: members end in a comma, or are "". */
static char *
jwk_rsa(EVP_PKEY *key, const char *members, size_t npad)
{
	char *n = b64_param(key, OSSL_PKEY_PARAM_RSA_N, npad);
	char *e = b64_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
	size_t len = strlen(n) + strlen(e) + strlen(members) + 64;
	char *s = malloc(len);

	assert_non_null(s);
	snprintf(s, len, "{\"kty\":\"RSA\",%s\"n\":\"%s\",\"e\":\"%s\"}", members, n, e);
	free(n);
	free(e);
	return s;
}

static char *
jwk_ec(EVP_PKEY *key, const char *crv, size_t coord, const char *members)
{
	char *x = b64_param(key, OSSL_PKEY_PARAM_EC_PUB_X, coord);
	char *y = b64_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, coord);
	size_t len = strlen(x) + strlen(y) + strlen(members) + 64;
	char *s = malloc(len);

	assert_non_null(s);
	snprintf(s, len, "{\"kty\":\"EC\",\"crv\":\"%s\",%s\"x\":\"%s\",\"y\":\"%s\"}",
	    crv, members, x, y);
	free(x);
	free(y);
	return s;
}

/* {"keys":[a, b]}, either may be NULL. */
static char *
jwks_json(const char *a, const char *b)
{
	size_t len = (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 16;
	char *s = malloc(len);

	assert_non_null(s);
	snprintf(s, len, "{\"keys\":[%s%s%s]}", a ? a : "", a && b ? "," : "", b ? b : "");
	return s;
}

/* Keys made once for the whole group: RSA and EC keys the RFC does not give. */
struct keys {
	EVP_PKEY	*rsa;		/* 2048 bits */
	EVP_PKEY	*rsa_small;	/* 1024 bits */
	EVP_PKEY	*ec;		/* P-256 */
	EVP_PKEY	*ec384;		/* P-384 */
};

static int
group_setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return -1;
	k->rsa = EVP_RSA_gen(2048);
	k->rsa_small = EVP_RSA_gen(1024);
	k->ec = EVP_EC_gen("P-256");
	k->ec384 = EVP_EC_gen("P-384");
	if (k->rsa == NULL || k->rsa_small == NULL || k->ec == NULL || k->ec384 == NULL)
		return -1;
	*state = k;
	return 0;
}

static int
group_teardown(void **state)
{
	struct keys *k = *state;

	EVP_PKEY_free(k->rsa);
	EVP_PKEY_free(k->rsa_small);
	EVP_PKEY_free(k->ec);
	EVP_PKEY_free(k->ec384);
	free(k);
	return 0;
}

/* ------------------------------------------------------------------ base64url */

static void
test_b64url_encode_rfc4648(void **state)
{
	static const struct {
		const char	*in, *out;
		size_t		 n;
	} cases[] = {
		/* RFC 4648 section 10, without padding */
		{ "", "", 0 }, { "f", "Zg", 1 }, { "fo", "Zm8", 2 }, { "foo", "Zm9v", 3 },
		{ "foob", "Zm9vYg", 4 }, { "fooba", "Zm9vYmE", 5 }, { "foobar", "Zm9vYmFy", 6 },
		/* the two characters that differ from base64 */
		{ "\xfb\xff", "-_8", 2 }, { "\xff\xff\xfe", "___-", 3 },
		{ "\x00", "AA", 1 }, { "\x00\x00\x00", "AAAA", 3 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char out[32];
		size_t n;

		memset(out, '#', sizeof(out));
		n = b64url_encode(out, (const unsigned char *)cases[i].in, cases[i].n);
		expect(n == strlen(cases[i].out) && strcmp(out, cases[i].out) == 0,
		    "b64url_encode(\"%s\") = \"%.*s\" (%zu), want \"%s\"", cases[i].out,
		    (int)n, out, n, cases[i].out);
		expect(n == B64URL_LEN(cases[i].n), "B64URL_LEN(%zu) = %zu, encoded %zu",
		    cases[i].n, (size_t)B64URL_LEN(cases[i].n), n);
	}
	cases_done();
}

static void
test_b64url_decode_golden(void **state)
{
	static const struct {
		const char	*name, *in;
		ssize_t		 want;		/* length, or -1 */
		const char	*out;
	} cases[] = {
		{ "empty", "", 0, "" },
		{ "Zg", "Zg", 1, "f" },
		{ "Zm8", "Zm8", 2, "fo" },
		{ "Zm9v", "Zm9v", 3, "foo" },
		{ "Zm9vYmFy", "Zm9vYmFy", 6, "foobar" },
		{ "url alphabet", "-_8", 2, "\xfb\xff" },
		{ "url alphabet, full group", "___-", 3, "\xff\xff\xfe" },
		{ "padding", "Zg==", -1, NULL },
		{ "one padding char", "Zm8=", -1, NULL },
		{ "length 1 mod 4", "Z", -1, NULL },
		{ "length 5", "Zm9vY", -1, NULL },
		{ "length 1 mod 4, zero bits", "A", -1, NULL },
		{ "length 5, zero bits", "Zm9vA", -1, NULL },
		{ "non-zero unused bits (2 chars)", "Zh", -1, NULL },
		{ "non-zero unused bits (3 chars)", "Zm9", -1, NULL },
		{ "standard alphabet +", "+_8", -1, NULL },
		{ "standard alphabet /", "-/8", -1, NULL },
		{ "space", "Zm 9v", -1, NULL },
		{ "newline", "Zm9v\n", -1, NULL },
		{ "dot", "Zm9v.", -1, NULL },
		{ "high byte", "Zm9\xc3", -1, NULL },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		unsigned char out[32];
		ssize_t n = b64url_decode(out, sizeof(out), cases[i].in, strlen(cases[i].in));

		expect(n == cases[i].want, "b64url_decode(%s) = %zd, want %zd",
		    cases[i].name, n, cases[i].want);
		if (n >= 0 && n == cases[i].want)
			expect(memcmp(out, cases[i].out, (size_t)n) == 0,
			    "b64url_decode(%s): wrong bytes", cases[i].name);
	}
	cases_done();
}

/* The output size is checked before anything is written. */
static void
test_b64url_decode_bounds(void **state)
{
	unsigned char out[8];

	(void)state;
	memset(out, 0xa5, sizeof(out));
	assert_int_equal(b64url_decode(out, 3, "Zm9v", 4), 3);
	assert_int_equal(b64url_decode(out, 2, "Zm9v", 4), -1);
	assert_int_equal(b64url_decode(out, 5, "Zm9vYmFy", 8), -1);
	assert_int_equal(b64url_decode(out, 0, "Zg", 2), -1);
	assert_int_equal(b64url_decode(out, 0, "", 0), 0);
	/* NUL inside the given length is not base64url */
	assert_int_equal(b64url_decode(out, sizeof(out), "Zm\0v", 4), -1);
	/* the RFC 7515 A.1 key decodes to the RFC's octets */
	{
		unsigned char key[64];

		assert_int_equal(b64url_decode(key, sizeof(key), BYTES(A1_K)), 64);
		assert_memory_equal(key, a1_key, 64);
	}
}

static void
test_b64url_round_trip(void **state)
{
	unsigned char in[300], back[300];
	char enc[B64URL_LEN(300) + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t el = b64url_encode(enc, in, n);
		ssize_t dl = b64url_decode(back, sizeof(back), enc, el);

		expect(el == B64URL_LEN(n) && strlen(enc) == el,
		    "b64url_encode of %zu bytes: %zu chars", n, el);
		expect(dl == (ssize_t)n && memcmp(in, back, n) == 0,
		    "round trip of %zu bytes: got %zd", n, dl);
	}
	cases_done();
}

/* ------------------------------------------------------------------ jose_split */

static void
test_jose_split(void **state)
{
	static const struct {
		const char	*name, *token;
		int		 want;
	} cases[] = {
		{ "three segments", "a.b.c", 0 },
		{ "RFC 7515 A.1", A1_JWS, 0 },
		{ "two segments", "a.b", -1 },
		{ "one segment", "abc", -1 },
		{ "four segments (JWE has five)", "a.b.c.d", -1 },
		{ "five segments", "a.b.c.d.e", -1 },
		{ "empty header", ".b.c", -1 },
		{ "empty payload", "a..c", -1 },
		{ "empty signature (alg none)", "a.b.", -1 },
		{ "dots only", "..", -1 },
		{ "empty", "", -1 },
	};
	struct jose_parts p;

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		int rc = jose_split(cases[i].token, strlen(cases[i].token), &p);

		expect(rc == cases[i].want, "jose_split(%s) = %d, want %d", cases[i].name,
		    rc, cases[i].want);
	}
	cases_done();

	assert_int_equal(jose_split(BYTES(A1_JWS), &p), 0);
	assert_int_equal(p.len[0], strlen(A1_HEADER_B64));
	assert_int_equal(p.len[1], strlen(A1_PAYLOAD_B64));
	assert_int_equal(p.len[2], strlen(A1_SIG_B64));
	assert_memory_equal(p.seg[1], A1_PAYLOAD_B64, p.len[1]);
	assert_memory_equal(p.seg[2], A1_SIG_B64, p.len[2]);
	assert_int_equal(p.signed_len, strlen(A1_HEADER_B64 "." A1_PAYLOAD_B64));

	/* Only len bytes count: a valid token followed by more text. */
	assert_int_equal(jose_split("a.b.c.d", 5, &p), 0);
	assert_int_equal(p.len[2], 1);
}

static void
test_jose_split_length_limit(void **state)
{
	char *t = malloc(JOSE_TOKEN_MAX + 2);

	(void)state;
	assert_non_null(t);
	memset(t, 'a', JOSE_TOKEN_MAX + 1);
	t[10] = '.';
	t[20] = '.';
	assert_int_equal(jose_split(t, JOSE_TOKEN_MAX, &(struct jose_parts){ 0 }), 0);
	assert_int_equal(jose_split(t, JOSE_TOKEN_MAX + 1, &(struct jose_parts){ 0 }), -1);
	free(t);
}

/* ------------------------------------------------------------------ jose_parse */

static void
test_jose_parse_rfc_vectors(void **state)
{
	struct jose j;

	(void)state;
	assert_int_equal(jose_parse(&j, BYTES(A1_JWS)), 0);
	assert_int_equal(j.alg, JOSE_ALG_HS256);
	assert_string_equal(j.kid, "");
	assert_int_equal(j.payload_len, strlen(A1_PAYLOAD));
	assert_string_equal(j.payload, A1_PAYLOAD);
	assert_int_equal(j.sig_len, 32);
	assert_memory_equal(j.sig, a1_mac, 32);

	assert_int_equal(jose_parse(&j, BYTES(A2_JWS)), 0);
	assert_int_equal(j.alg, JOSE_ALG_RS256);
	assert_string_equal(j.payload, A1_PAYLOAD);
	assert_int_equal(j.sig_len, 256);

	assert_int_equal(jose_parse(&j, BYTES(A3_JWS)), 0);
	assert_int_equal(j.alg, JOSE_ALG_ES256);
	assert_int_equal(j.sig_len, 64);
}

struct header_case {
	const char	*name;
	const char	*header;	/* JSON, encoded by the test */
	size_t		 len;
	int		 rc;
	enum jose_alg	 alg;
	const char	*kid;
};

#define HDR(name, json, rc, alg, kid)	{ name, BYTES(json), rc, alg, kid }

static const struct header_case header_cases[] = {
	HDR("HS256", "{\"alg\":\"HS256\"}", 0, JOSE_ALG_HS256, ""),
	HDR("HS256 with typ", "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", 0, JOSE_ALG_HS256, ""),
	HDR("RS256", "{\"alg\":\"RS256\"}", 0, JOSE_ALG_RS256, ""),
	HDR("ES256", "{\"alg\":\"ES256\"}", 0, JOSE_ALG_ES256, ""),
	HDR("none", "{\"alg\":\"none\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("None", "{\"alg\":\"None\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("HS384", "{\"alg\":\"HS384\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("HS512", "{\"alg\":\"HS512\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("RS512", "{\"alg\":\"RS512\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("PS256", "{\"alg\":\"PS256\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("ES384", "{\"alg\":\"ES384\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("EdDSA", "{\"alg\":\"EdDSA\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("lower-case hs256", "{\"alg\":\"hs256\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("HS256 with a space", "{\"alg\":\"HS256 \"}", 0, JOSE_ALG_OTHER, ""),
	HDR("empty alg", "{\"alg\":\"\"}", 0, JOSE_ALG_OTHER, ""),
	HDR("kid", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", 0, JOSE_ALG_RS256, "k1"),
	HDR("kid first", "{\"kid\":\"2011-04-29\",\"alg\":\"RS256\"}", 0, JOSE_ALG_RS256, "2011-04-29"),
	HDR("empty kid", "{\"alg\":\"RS256\",\"kid\":\"\"}", 0, JOSE_ALG_RS256, ""),
	HDR("unknown members ignored", "{\"alg\":\"ES256\",\"x5u\":\"https://x\",\"n\":[1]}", 0, JOSE_ALG_ES256, ""),

	HDR("crit", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", -1, 0, NULL),
	HDR("empty crit", "{\"alg\":\"HS256\",\"crit\":[]}", -1, 0, NULL),
	HDR("crit null", "{\"alg\":\"HS256\",\"crit\":null}", -1, 0, NULL),
	HDR("no alg", "{\"typ\":\"JWT\"}", -1, 0, NULL),
	HDR("alg number", "{\"alg\":256}", -1, 0, NULL),
	HDR("alg null", "{\"alg\":null}", -1, 0, NULL),
	HDR("alg array", "{\"alg\":[\"HS256\"]}", -1, 0, NULL),
	HDR("kid number", "{\"alg\":\"RS256\",\"kid\":5}", -1, 0, NULL),
	HDR("kid null", "{\"alg\":\"RS256\",\"kid\":null}", -1, 0, NULL),
	HDR("header is an array", "[\"alg\",\"HS256\"]", -1, 0, NULL),
	HDR("header is a string", "\"HS256\"", -1, 0, NULL),
	HDR("header is not JSON", "alg=HS256", -1, 0, NULL),
	HDR("header with trailing garbage", "{\"alg\":\"HS256\"}x", -1, 0, NULL),
	HDR("two headers", "{\"alg\":\"HS256\"}{}", -1, 0, NULL),
	HDR("NUL inside the header", "{\"alg\":\"HS256\"}\0", -1, 0, NULL),
	HDR("NUL in the middle", "{\"alg\":\"HS256\",\0\"kid\":\"a\"}", -1, 0, NULL),
};

static void
test_jose_parse_headers(void **state)
{
	static const unsigned char sig[] = "sig";

	(void)state;
	for (size_t i = 0; i < NELEM(header_cases); i++) {
		const struct header_case *c = &header_cases[i];
		char *t = token_raw(c->header, c->len, "{}", sig, 3);
		struct jose j;
		int rc;

		rc = jose_parse(&j, t, strlen(t));
		expect(rc == c->rc, "jose_parse(%s) = %d, want %d", c->name, rc, c->rc);
		if (rc == 0 && c->rc == 0) {
			expect(j.alg == c->alg, "jose_parse(%s): alg %d, want %d", c->name,
			    j.alg, c->alg);
			expect(strcmp(j.kid, c->kid) == 0, "jose_parse(%s): kid \"%s\", want \"%s\"",
			    c->name, j.kid, c->kid);
			expect(j.sig_len == 3 && memcmp(j.sig, "sig", 3) == 0,
			    "jose_parse(%s): signature not decoded", c->name);
			expect(strcmp(j.payload, "{}") == 0 && j.payload_len == 2,
			    "jose_parse(%s): payload not decoded", c->name);
		}
		free(t);
	}
	cases_done();
}

/*
 * RFC 7515 section 4: header names MUST be unique, and a parser MUST either
 * refuse duplicates or use the lexically last one.  Taking the first lets a
 * token say one alg to patgate and another to every other JOSE library.
 */
static void
test_jose_parse_duplicate_header(void **state)
{
	static const unsigned char sig[] = "sig";
	static const struct {
		const char	*name, *header;
		enum jose_alg	 last_alg;	/* what "lexically last" gives */
		const char	*last_kid;
	} cases[] = {
		{ "alg HS256 then none", "{\"alg\":\"HS256\",\"alg\":\"none\"}", JOSE_ALG_OTHER, "" },
		{ "alg RS256 then HS256", "{\"alg\":\"RS256\",\"alg\":\"HS256\"}", JOSE_ALG_HS256, "" },
		{ "kid a then b", "{\"alg\":\"RS256\",\"kid\":\"a\",\"kid\":\"b\"}", JOSE_ALG_RS256, "b" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *t = token_of(cases[i].header, "{}", sig, 3);
		struct jose j;
		int rc = jose_parse(&j, t, strlen(t));

		expect(rc == -1 || (j.alg == cases[i].last_alg &&
		    strcmp(j.kid, cases[i].last_kid) == 0),
		    "jose_parse(%s) = %d with alg %d kid \"%s\": want it refused, "
		    "or the last value (alg %d kid \"%s\")", cases[i].name, rc,
		    rc == 0 ? (int)j.alg : -1, rc == 0 ? j.kid : "",
		    cases[i].last_alg, cases[i].last_kid);
		free(t);
	}
	cases_done();
}

static void
test_jose_parse_bounds(void **state)
{
	char kid[300], header[400], *t;
	struct jose j;

	(void)state;
	/* a kid of 255 bytes fits, 256 does not */
	memset(kid, 'k', sizeof(kid));
	kid[255] = '\0';
	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	t = token_of(header, "{}", (const unsigned char *)"s", 1);
	assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
	assert_int_equal(strlen(j.kid), 255);
	free(t);
	kid[255] = 'k';
	kid[256] = '\0';
	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	t = token_of(header, "{}", (const unsigned char *)"s", 1);
	assert_int_equal(jose_parse(&j, t, strlen(t)), -1);
	free(t);

	/* a header over 1023 bytes */
	{
		char big[1100];

		memset(big, ' ', sizeof(big));
		memcpy(big, "{\"alg\":\"HS256\"", 14);
		memcpy(big + sizeof(big) - 2, "}", 2);
		t = token_of(big, "{}", (const unsigned char *)"s", 1);
		assert_int_equal(jose_parse(&j, t, strlen(t)), -1);
		free(t);
	}

	/* a signature over 512 bytes */
	{
		unsigned char sig[513];

		memset(sig, 1, sizeof(sig));
		t = token_of("{\"alg\":\"RS256\"}", "{}", sig, 512);
		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		assert_int_equal(j.sig_len, 512);
		free(t);
		t = token_of("{\"alg\":\"RS256\"}", "{}", sig, 513);
		assert_int_equal(jose_parse(&j, t, strlen(t)), -1);
		free(t);
	}

	/* segments that are not base64url */
	assert_int_equal(jose_parse(&j, BYTES("eyJhbGciOiJIUzI1NiJ9.e30=.c2ln")), -1);
	assert_int_equal(jose_parse(&j, BYTES("eyJhbGciOiJIUzI1NiJ9.e30.c2ln+")), -1);
	assert_int_equal(jose_parse(&j, BYTES("eyJhbGciOiJIUzI1NiJ9=.e30.c2ln")), -1);
	assert_int_equal(jose_parse(&j, BYTES("eyJhbGciOiJIUzI1NiJ9.e30.c2ln")), 0);
}

/* ------------------------------------------------------------------ claims */

static void
test_jose_claims_full(void **state)
{
	static const char json[] =
	    "{\"iss\":\"https://idp.example\",\"sub\":\"u1\",\"jti\":\"j1\","
	    "\"email\":\"ann@example.com\",\"name\":\"Ann \\u00c5berg\","
	    "\"aud\":[\"patgate\",\"other\"],\"groups\":[\"dev\",\"ops\",\"\"],"
	    "\"exp\":2000000000,\"nbf\":1000,\"iat\":999,\"email_verified\":true,"
	    "\"extra\":{\"iss\":5,\"list\":[1,\"s\",null,{\"aud\":7}]},\"n\":null}";
	struct jose_claims c;
	struct arena a;

	(void)state;
	arena_init(&a, 4096);
	assert_int_equal(jose_claims_parse(&c, BYTES(json), &a), 0);
	assert_string_equal(c.iss, "https://idp.example");
	assert_string_equal(c.sub, "u1");
	assert_string_equal(c.jti, "j1");
	assert_string_equal(c.email, "ann@example.com");
	assert_string_equal(c.name, "Ann \xc3\x85" "berg");
	assert_int_equal(c.naud, 2);
	assert_string_equal(c.aud[0], "patgate");
	assert_string_equal(c.aud[1], "other");
	assert_true(jose_claims_has_aud(&c, "patgate"));
	assert_true(jose_claims_has_aud(&c, "other"));
	assert_false(jose_claims_has_aud(&c, "patgat"));
	assert_false(jose_claims_has_aud(&c, "patgate2"));
	assert_false(jose_claims_has_aud(&c, ""));
	assert_int_equal(c.ngroups, 3);
	assert_string_equal(c.groups[0], "dev");
	assert_string_equal(c.groups[1], "ops");
	assert_string_equal(c.groups[2], "");
	assert_true(c.has_exp && c.has_nbf && c.has_iat);
	assert_int_equal(c.exp, 2000000000);
	assert_int_equal(c.nbf, 1000);
	assert_int_equal(c.iat, 999);
	arena_free(&a);
}

static void
test_jose_claims_rfc_payload(void **state)
{
	struct jose_claims c;
	struct arena a;

	(void)state;
	arena_init(&a, 4096);
	assert_int_equal(jose_claims_parse(&c, BYTES(A1_PAYLOAD), &a), 0);
	assert_string_equal(c.iss, "joe");
	assert_true(c.has_exp);
	assert_int_equal(c.exp, 1300819380);
	assert_false(c.has_nbf);
	assert_false(c.has_iat);
	assert_null(c.sub);
	assert_null(c.email);
	assert_null(c.groups);
	assert_int_equal(c.naud, 0);
	assert_false(jose_claims_has_aud(&c, "joe"));
	arena_free(&a);
}

static void
test_jose_claims_shapes(void **state)
{
	struct jose_claims c;
	struct arena a;

	(void)state;
	arena_init(&a, 4096);
	/* aud as one string */
	assert_int_equal(jose_claims_parse(&c, BYTES("{\"aud\":\"patgate\"}"), &a), 0);
	assert_int_equal(c.naud, 1);
	assert_string_equal(c.aud[0], "patgate");
	assert_true(jose_claims_has_aud(&c, "patgate"));
	/* aud as an empty array */
	assert_int_equal(jose_claims_parse(&c, BYTES("{\"aud\":[]}"), &a), 0);
	assert_int_equal(c.naud, 0);
	assert_false(jose_claims_has_aud(&c, "patgate"));
	/* groups absent vs empty */
	assert_int_equal(jose_claims_parse(&c, BYTES("{}"), &a), 0);
	assert_null(c.groups);
	assert_int_equal(jose_claims_parse(&c, BYTES("{\"groups\":[]}"), &a), 0);
	assert_non_null(c.groups);
	assert_int_equal(c.ngroups, 0);
	/* NumericDate may have a fraction */
	assert_int_equal(jose_claims_parse(&c, BYTES("{\"exp\":1300819380.75,\"iat\":0}"), &a), 0);
	assert_int_equal(c.exp, 1300819380);
	assert_true(c.has_iat);
	assert_int_equal(c.iat, 0);
	arena_free(&a);
}

struct claims_case {
	const char	*name;
	const char	*json;
	size_t		 len;
	int		 want;
};

#define CLAIMS(name, json, want)	{ name, BYTES(json), want }

static const struct claims_case claims_cases[] = {
	CLAIMS("empty object", "{}", 0),
	CLAIMS("whitespace inside", "{ \"iss\" : \"a\" }", 0),
	CLAIMS("unknown claims of every type", "{\"a\":null,\"b\":true,\"c\":false,\"d\":1.5,"
	    "\"e\":\"s\",\"f\":[1,[2],{\"g\":null}],\"h\":{\"i\":{\"j\":[]}}}", 0),
	CLAIMS("a known name nested in an unknown claim", "{\"x\":{\"exp\":\"soon\",\"aud\":5}}", 0),
	CLAIMS("exp 0", "{\"exp\":0}", 0),
	CLAIMS("exp with exponent", "{\"exp\":1.3e9}", 0),

	CLAIMS("empty input", "", -1),
	CLAIMS("array", "[]", -1),
	CLAIMS("string", "\"iss\"", -1),
	CLAIMS("number", "1", -1),
	CLAIMS("trailing garbage", "{}x", -1),
	CLAIMS("two objects", "{}{}", -1),
	CLAIMS("comment", "{/* c */}", -1),
	CLAIMS("trailing comma", "{\"iss\":\"a\",}", -1),
	CLAIMS("unclosed", "{\"iss\":\"a\"", -1),
	CLAIMS("invalid UTF-8", "{\"iss\":\"\xc3\x28\"}", -1),

	CLAIMS("duplicate iss", "{\"iss\":\"a\",\"iss\":\"b\"}", -1),
	CLAIMS("duplicate iss, same value", "{\"iss\":\"a\",\"iss\":\"a\"}", -1),
	CLAIMS("duplicate sub", "{\"sub\":\"a\",\"sub\":\"b\"}", -1),
	CLAIMS("duplicate email", "{\"email\":\"a\",\"x\":1,\"email\":\"b\"}", -1),
	CLAIMS("duplicate exp", "{\"exp\":1,\"exp\":2}", -1),
	CLAIMS("duplicate aud, string and array", "{\"aud\":\"a\",\"aud\":[\"b\"]}", -1),
	CLAIMS("duplicate groups", "{\"groups\":[],\"groups\":[\"admin\"]}", -1),
	CLAIMS("duplicate written with an escape", "{\"iss\":\"a\",\"\\u0069ss\":\"b\"}", -1),

	CLAIMS("iss number", "{\"iss\":1}", -1),
	CLAIMS("iss null", "{\"iss\":null}", -1),
	CLAIMS("iss true", "{\"iss\":true}", -1),
	CLAIMS("iss array", "{\"iss\":[\"a\"]}", -1),
	CLAIMS("iss object", "{\"iss\":{}}", -1),
	CLAIMS("sub number", "{\"sub\":1}", -1),
	CLAIMS("jti array", "{\"jti\":[\"a\"]}", -1),
	CLAIMS("email object", "{\"email\":{\"a\":\"b\"}}", -1),
	CLAIMS("name false", "{\"name\":false}", -1),
	CLAIMS("exp string", "{\"exp\":\"1300819380\"}", -1),
	CLAIMS("exp null", "{\"exp\":null}", -1),
	CLAIMS("exp true", "{\"exp\":true}", -1),
	CLAIMS("exp negative", "{\"exp\":-1}", -1),
	CLAIMS("exp too far away", "{\"exp\":4000000000001}", -1),
	CLAIMS("exp overflowing a double", "{\"exp\":1e400}", -1),
	CLAIMS("exp array", "{\"exp\":[1]}", -1),
	CLAIMS("nbf string", "{\"nbf\":\"0\"}", -1),
	CLAIMS("iat object", "{\"iat\":{}}", -1),
	CLAIMS("aud number", "{\"aud\":1}", -1),
	CLAIMS("aud null", "{\"aud\":null}", -1),
	CLAIMS("aud object", "{\"aud\":{\"a\":\"b\"}}", -1),
	CLAIMS("aud array of numbers", "{\"aud\":[1]}", -1),
	CLAIMS("aud array with null", "{\"aud\":[\"a\",null]}", -1),
	CLAIMS("aud array with bool", "{\"aud\":[true]}", -1),
	CLAIMS("aud nested array", "{\"aud\":[[\"a\"]]}", -1),
	CLAIMS("aud array with object", "{\"aud\":[{\"a\":\"b\"}]}", -1),
	CLAIMS("groups string", "{\"groups\":\"admin\"}", -1),
	CLAIMS("groups null", "{\"groups\":null}", -1),
	CLAIMS("groups number", "{\"groups\":[1]}", -1),
	CLAIMS("groups nested array", "{\"groups\":[[\"admin\"]]}", -1),
	CLAIMS("groups object", "{\"groups\":{\"admin\":true}}", -1),
	CLAIMS("NUL inside email", "{\"email\":\"a\\u0000@evil\"}", -1),
	CLAIMS("NUL inside a group", "{\"groups\":[\"admin\\u0000x\"]}", -1),
};

static void
test_jose_claims_golden(void **state)
{
	struct arena a;

	(void)state;
	arena_init(&a, 4096);
	for (size_t i = 0; i < NELEM(claims_cases); i++) {
		const struct claims_case *c = &claims_cases[i];
		struct jose_claims cl;
		int rc = jose_claims_parse(&cl, c->json, c->len, &a);

		expect(rc == c->want, "jose_claims_parse(%s) = %d, want %d", c->name, rc,
		    c->want);
		arena_reset(&a);
	}
	arena_free(&a);
	cases_done();
}

/* Groups are capped at 1024; nesting inside unknown claims at 31 levels. */
static void
test_jose_claims_limits(void **state)
{
	size_t cap = 16 * 1024, n;
	char *json = malloc(cap);
	struct jose_claims c;
	struct arena a;

	(void)state;
	assert_non_null(json);
	arena_init(&a, 4096);
	for (int count = 1024; count <= 1025; count++) {
		n = (size_t)snprintf(json, cap, "{\"groups\":[");
		for (int i = 0; i < count; i++)
			n += (size_t)snprintf(json + n, cap - n, "%s\"g%d\"", i ? "," : "", i);
		snprintf(json + n, cap - n, "]}");
		if (count == 1024) {
			assert_int_equal(jose_claims_parse(&c, json, strlen(json), &a), 0);
			assert_int_equal(c.ngroups, 1024);
			assert_string_equal(c.groups[1023], "g1023");
		} else
			assert_int_equal(jose_claims_parse(&c, json, strlen(json), &a), -1);
		arena_reset(&a);
	}
	for (int depth = 30; depth <= 31; depth++) {
		n = (size_t)snprintf(json, cap, "{\"x\":");
		for (int i = 0; i < depth; i++)
			json[n++] = '[';
		for (int i = 0; i < depth; i++)
			json[n++] = ']';
		snprintf(json + n, cap - n, ",\"iss\":\"i\"}");
		assert_int_equal(jose_claims_parse(&c, json, strlen(json), &a),
		    depth == 30 ? 0 : -1);
		arena_reset(&a);
	}
	arena_free(&a);
	free(json);
}

/* ------------------------------------------------------------------ HMAC and HS256 */

static void
hex_of(char *out, const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + i * 2, "%02x", b[i]);
}

/* RFC 4231 test cases 1, 2 and 6 (a key longer than the block). */
static void
test_jose_hmac_rfc4231(void **state)
{
	unsigned char key6[131], mac[32];
	static const char msg6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	const struct {
		const char		*name;
		const unsigned char	*key;
		size_t			 keylen;
		const char		*msg;
		const char		*hex;
	} cases[] = {
		{ "case 1", (const unsigned char *)"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b"
		    "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b", 20, "Hi There",
		    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
		{ "case 2", (const unsigned char *)"Jefe", 4, "what do ya want for nothing?",
		    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
		{ "case 6", key6, sizeof(key6), msg6,
		    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	};

	(void)state;
	memset(key6, 0xaa, sizeof(key6));
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct jose_hmac *h = jose_hmac_new(cases[i].key, cases[i].keylen);
		char hex[65];

		assert_non_null(h);
		/* Twice with the same handle: it must re-key, not carry state over. */
		for (int round = 0; round < 2; round++) {
			memset(mac, 0, sizeof(mac));
			expect(jose_hmac(h, cases[i].msg, strlen(cases[i].msg), mac) == 0,
			    "jose_hmac(%s) failed", cases[i].name);
			hex_of(hex, mac, 32);
			expect(strcmp(hex, cases[i].hex) == 0, "HMAC-SHA256 %s round %d = %s",
			    cases[i].name, round, hex);
		}
		jose_hmac_free(h);
	}
	jose_hmac_free(NULL);
	cases_done();
}

/* Signing RFC 7515 A.1's header and payload gives the RFC's JWS byte for byte. */
static void
test_jose_hs256_sign_rfc(void **state)
{
	struct jose_hmac *h = jose_hmac_new(a1_key, sizeof(a1_key));
	size_t need = strlen(A1_JWS) + 1;
	char out[512];
	unsigned char mac[32];

	(void)state;
	assert_non_null(h);
	assert_int_equal(jose_hmac(h, BYTES(A1_HEADER_B64 "." A1_PAYLOAD_B64), mac), 0);
	assert_memory_equal(mac, a1_mac, 32);

	assert_int_equal(jose_hs256_sign(h, out, sizeof(out), A1_HEADER_B64,
	    BYTES(A1_PAYLOAD)), strlen(A1_JWS));
	assert_string_equal(out, A1_JWS);
	/* exactly enough room, and one byte short */
	memset(out, 0, sizeof(out));
	assert_int_equal(jose_hs256_sign(h, out, need, A1_HEADER_B64, BYTES(A1_PAYLOAD)),
	    strlen(A1_JWS));
	assert_string_equal(out, A1_JWS);
	assert_int_equal(jose_hs256_sign(h, out, need - 1, A1_HEADER_B64, BYTES(A1_PAYLOAD)), 0);
	jose_hmac_free(h);
}

static void
test_jose_hs256_verify_rfc(void **state)
{
	struct jose_hmac *h = jose_hmac_new(a1_key, sizeof(a1_key));
	unsigned char wrong_key[64];
	struct jose_hmac *hw;
	struct jose j;

	(void)state;
	assert_non_null(h);
	assert_int_equal(jose_parse(&j, BYTES(A1_JWS)), 0);
	assert_int_equal(jose_hs256_verify(h, &j.parts, j.sig, j.sig_len), 0);

	/* every single-bit change of the signature fails */
	for (size_t bit = 0; bit < 256; bit++) {
		unsigned char sig[32];

		memcpy(sig, j.sig, 32);
		sig[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		expect(jose_hs256_verify(h, &j.parts, sig, 32) == -1,
		    "A.1 verified with signature bit %zu flipped", bit);
	}
	/* a truncated or extended signature fails */
	expect(jose_hs256_verify(h, &j.parts, j.sig, 31) == -1, "31-byte signature verified");
	expect(jose_hs256_verify(h, &j.parts, j.sig, 0) == -1, "empty signature verified");

	/* every change to the signed text fails */
	for (size_t i = 0; i < j.parts.signed_len; i++) {
		char t[sizeof(A1_JWS)];
		struct jose_parts p;

		memcpy(t, A1_JWS, sizeof(t));
		if (t[i] == '.')
			continue;
		t[i] ^= 1;
		if (jose_split(t, strlen(t), &p) != 0)
			continue;
		expect(jose_hs256_verify(h, &p, j.sig, j.sig_len) == -1,
		    "A.1 verified with signed byte %zu changed", i);
	}

	/* a key one bit away fails */
	memcpy(wrong_key, a1_key, sizeof(wrong_key));
	wrong_key[63] ^= 1;
	hw = jose_hmac_new(wrong_key, sizeof(wrong_key));
	assert_non_null(hw);
	expect(jose_hs256_verify(hw, &j.parts, j.sig, j.sig_len) == -1,
	    "A.1 verified with the wrong key");
	jose_hmac_free(hw);
	jose_hmac_free(h);
	cases_done();
}

/* What patgate itself signs verifies, and its claims read back. */
static void
test_jose_hs256_round_trip(void **state)
{
	static const char payload[] = "{\"iss\":\"Terrakube\",\"aud\":[\"Terrakube\"],"
	    "\"jti\":\"0b5a3c9e-8f1d-4c2a-9e7b-1d2c3b4a5f60\",\"email\":\"a@b.c\","
	    "\"groups\":[],\"iat\":1795867200,\"exp\":1796472000}";
	unsigned char key[32];
	char header[64], token[1024];
	struct jose_hmac *h;
	struct jose_claims c;
	struct jose j;
	struct arena a;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)i;
	h = jose_hmac_new(key, sizeof(key));
	assert_non_null(h);
	b64url_encode(header, (const unsigned char *)"{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
	n = jose_hs256_sign(h, token, sizeof(token), header, BYTES(payload));
	assert_true(n > 0);
	assert_int_equal(n, strlen(token));
	assert_int_equal(jose_parse(&j, token, n), 0);
	assert_int_equal(j.alg, JOSE_ALG_HS256);
	assert_string_equal(j.payload, payload);
	assert_int_equal(jose_hs256_verify(h, &j.parts, j.sig, j.sig_len), 0);
	arena_init(&a, 4096);
	assert_int_equal(jose_claims_parse(&c, j.payload, j.payload_len, &a), 0);
	assert_string_equal(c.jti, "0b5a3c9e-8f1d-4c2a-9e7b-1d2c3b4a5f60");
	assert_true(jose_claims_has_aud(&c, "Terrakube"));
	assert_int_equal(c.exp - c.iat, 7 * 86400);
	arena_free(&a);
	jose_hmac_free(h);
}

/* ------------------------------------------------------------------ RS256, ES256 */

static void
flip_and_expect_refused(const struct jwks *set, const char *token, const char *name)
{
	struct jose j;

	assert_int_equal(jose_parse(&j, token, strlen(token)), 0);
	for (size_t byte = 0; byte < j.sig_len; byte += j.sig_len / 8) {
		struct jose k = j;

		k.sig[byte] ^= 0x01;
		expect(jwks_verify(set, &k) == -1, "%s verified with signature byte %zu "
		    "changed", name, byte);
	}
	{
		struct jose k = j;

		k.sig[k.sig_len - 1] ^= 0x80;
		expect(jwks_verify(set, &k) == -1, "%s verified with its last bit changed", name);
	}
}

static void
test_jose_rs256_rfc(void **state)
{
	struct jwks *set = jwks_of(JWKS(A2_JWK));
	struct jose j;
	char *t;

	(void)state;
	assert_int_equal(jwks_count(set), 1);
	assert_int_equal(jose_parse(&j, BYTES(A2_JWS)), 0);
	assert_int_equal(jwks_verify(set, &j), 0);
	flip_and_expect_refused(set, A2_JWS, "A.2");
	/* a changed payload: "joe" becomes "jof" */
	t = strdup(A2_JWS);
	assert_non_null(t);
	t[strlen("eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2")] ^= 0x01;
	assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
	expect(jwks_verify(set, &j) == -1, "A.2 verified with its payload changed");
	free(t);
	jwks_free(set);
	cases_done();
}

static void
test_jose_es256_rfc(void **state)
{
	struct jwks *set = jwks_of(JWKS(A3_JWK));
	struct jose j;

	(void)state;
	assert_int_equal(jwks_count(set), 1);
	assert_int_equal(jose_parse(&j, BYTES(A3_JWS)), 0);
	assert_int_equal(jwks_verify(set, &j), 0);
	flip_and_expect_refused(set, A3_JWS, "A.3");
	/* r and s swapped */
	{
		struct jose k = j;

		memcpy(k.sig, j.sig + 32, 32);
		memcpy(k.sig + 32, j.sig, 32);
		expect(jwks_verify(set, &k) == -1, "A.3 verified with r and s swapped");
	}
	/* 63 or 65 bytes are not an ES256 signature */
	{
		struct jose k = j;

		k.sig_len = 63;
		expect(jwks_verify(set, &k) == -1, "A.3 verified with 63 signature bytes");
		k.sig_len = 65;
		expect(jwks_verify(set, &k) == -1, "A.3 verified with 65 signature bytes");
	}
	jwks_free(set);
	cases_done();
}

/* Both RFC keys in one set: each token finds its own key. */
static void
test_jose_rfc_mixed_set(void **state)
{
	struct jwks *set = jwks_of(JWKS(A2_JWK "," A3_JWK));
	struct jose j;

	(void)state;
	assert_int_equal(jwks_count(set), 2);
	assert_int_equal(jose_parse(&j, BYTES(A2_JWS)), 0);
	assert_int_equal(jwks_verify(set, &j), 0);
	assert_int_equal(jose_parse(&j, BYTES(A3_JWS)), 0);
	assert_int_equal(jwks_verify(set, &j), 0);
	/* A.1's HMAC token is not checked against either */
	assert_int_equal(jose_parse(&j, BYTES(A1_JWS)), 0);
	assert_int_equal(jwks_verify(set, &j), -1);
	assert_int_equal(jwks_verify(NULL, &j), -1);
	jwks_free(set);
}

/* jose_pkey_verify checks the key's type against the token's alg. */
static void
test_jose_pkey_verify(void **state)
{
	struct keys *k = *state;
	static const char payload[] = "{\"sub\":\"x\"}";
	char *rs = token_signed(k->rsa, "{\"alg\":\"RS256\"}", payload, 0);
	char *es = token_signed(k->ec, "{\"alg\":\"ES256\"}", payload, 0);
	char *es_der = token_signed(k->ec, "{\"alg\":\"ES256\"}", payload, 1);
	char *es_as_rs = token_signed(k->rsa, "{\"alg\":\"ES256\"}", payload, 0);
	char *rs_as_es = token_signed(k->ec, "{\"alg\":\"RS256\"}", payload, 1);
	char *es384 = token_signed(k->ec384, "{\"alg\":\"ES256\"}", payload, 0);
	struct jose j;

	assert_int_equal(jose_parse(&j, rs, strlen(rs)), 0);
	assert_int_equal(jose_pkey_verify(&j, k->rsa), 0);
	assert_int_equal(jose_pkey_verify(&j, k->ec), -1);
	j.alg = JOSE_ALG_ES256;		/* a valid RSA signature, read as ES256 */
	assert_int_equal(jose_pkey_verify(&j, k->rsa), -1);
	j.alg = JOSE_ALG_HS256;
	assert_int_equal(jose_pkey_verify(&j, k->rsa), -1);
	j.alg = JOSE_ALG_OTHER;
	assert_int_equal(jose_pkey_verify(&j, k->rsa), -1);

	assert_int_equal(jose_parse(&j, es, strlen(es)), 0);
	assert_int_equal(jose_pkey_verify(&j, k->ec), 0);
	assert_int_equal(jose_pkey_verify(&j, k->rsa), -1);

	/* ECDSA in DER, as OpenSSL makes it, is not the JWS form */
	assert_int_equal(jose_parse(&j, es_der, strlen(es_der)), 0);
	assert_int_equal(jose_pkey_verify(&j, k->ec), -1);

	/* an ES256 header over an RSA signature: never checked against the RSA key */
	assert_int_equal(jose_parse(&j, es_as_rs, strlen(es_as_rs)), 0);
	assert_int_equal(j.alg, JOSE_ALG_ES256);
	assert_int_equal(jose_pkey_verify(&j, k->rsa), -1);
	/* an RS256 header over a DER ECDSA signature, which the EC key would accept */
	assert_int_equal(jose_parse(&j, rs_as_es, strlen(rs_as_es)), 0);
	assert_int_equal(j.alg, JOSE_ALG_RS256);
	assert_int_equal(jose_pkey_verify(&j, k->ec), -1);

	/* a P-384 signature is 96 bytes: not ES256 */
	assert_int_equal(jose_parse(&j, es384, strlen(es384)), 0);
	assert_int_equal(jose_pkey_verify(&j, k->ec384), -1);

	free(rs);
	free(es);
	free(es_der);
	free(es_as_rs);
	free(rs_as_es);
	free(es384);
}

/* ------------------------------------------------------------------ jwks_verify */

/* The kid picks the key; a token without one may use any key of its alg. */
static void
test_jwks_kid(void **state)
{
	struct keys *k = *state;
	char *gen = jwk_rsa(k->rsa, "\"kid\":\"gen\",\"use\":\"sig\",\"alg\":\"RS256\",", 0);
	char *doc = jwks_json(A2_JWK_KID("2011-04-29"), gen);
	struct jwks *set = jwks_of(doc);
	static const struct {
		const char	*name, *header;
		int		 want;
	} cases[] = {
		{ "matching kid", "{\"alg\":\"RS256\",\"kid\":\"gen\"}", 0 },
		{ "no kid", "{\"alg\":\"RS256\"}", 0 },
		{ "the other key's kid", "{\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}", -1 },
		{ "an unknown kid", "{\"alg\":\"RS256\",\"kid\":\"zzz\"}", -1 },
		{ "a kid that is a prefix", "{\"alg\":\"RS256\",\"kid\":\"ge\"}", -1 },
		{ "a kid that extends", "{\"alg\":\"RS256\",\"kid\":\"gen2\"}", -1 },
	};

	assert_int_equal(jwks_count(set), 2);
	for (size_t i = 0; i < NELEM(cases); i++) {
		char *t = token_signed(k->rsa, cases[i].header, "{\"sub\":\"x\"}", 0);
		struct jose j;

		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		expect(jwks_verify(set, &j) == cases[i].want, "jwks_verify(%s) = %d, want %d",
		    cases[i].name, jwks_verify(set, &j), cases[i].want);
		free(t);
	}
	/* The RFC's own token has no kid and finds the RFC key among the two. */
	{
		struct jose j;

		assert_int_equal(jose_parse(&j, BYTES(A2_JWS)), 0);
		assert_int_equal(jwks_verify(set, &j), 0);
	}
	jwks_free(set);
	free(doc);
	free(gen);
	cases_done();
}

/* A key set without kids: a token that names one finds nothing. */
static void
test_jwks_kid_on_keyless_set(void **state)
{
	struct jwks *set = jwks_of(JWKS(A2_JWK));
	struct keys *k = *state;
	char *gen = jwk_rsa(k->rsa, "", 0), *doc = jwks_json(gen, NULL);
	struct jwks *set2 = jwks_of(doc);
	char *t = token_signed(k->rsa, "{\"alg\":\"RS256\",\"kid\":\"any\"}", "{}", 0);
	char *u = token_signed(k->rsa, "{\"alg\":\"RS256\"}", "{}", 0);
	struct jose j;

	assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
	assert_int_equal(jwks_verify(set2, &j), -1);
	assert_int_equal(jose_parse(&j, u, strlen(u)), 0);
	assert_int_equal(jwks_verify(set2, &j), 0);
	assert_int_equal(jwks_verify(set, &j), -1);	/* the RFC key did not sign it */
	free(t);
	free(u);
	free(doc);
	free(gen);
	jwks_free(set2);
	jwks_free(set);
}

/* Algorithm confusion: none of these may pass jwks_verify. */
static void
test_jwks_alg_confusion(void **state)
{
	struct keys *k = *state;
	char *gen = jwk_rsa(k->rsa, "\"kid\":\"gen\",", 0);
	char *ec = jwk_ec(k->ec, "P-256", 32, "\"kid\":\"ec\",");
	char *doc = jwks_json(gen, NULL), *doc_ec = jwks_json(ec, NULL);
	struct jwks *set = jwks_of(doc), *set_ec = jwks_of(doc_ec);
	char *pem = NULL, *n_b64 = b64_param(k->rsa, OSSL_PKEY_PARAM_RSA_N, 0);
	BIO *bio = BIO_new(BIO_s_mem());
	long pemlen;
	struct jose j;

	/* HS256 signed with the RSA public key's PEM text, and with its modulus */
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, k->rsa), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	{
		const struct { const char *name; const void *key; size_t len; } secrets[] = {
			{ "PEM", pem, (size_t)pemlen },
			{ "modulus text", n_b64, strlen(n_b64) },
		};
		static const char *const headers[] = {
			"{\"alg\":\"HS256\",\"kid\":\"gen\"}", "{\"alg\":\"HS256\"}",
		};

		for (size_t s = 0; s < NELEM(secrets); s++)
			for (size_t h = 0; h < NELEM(headers); h++) {
				struct jose_hmac *mac = jose_hmac_new(secrets[s].key, secrets[s].len);
				char hb[128], token[1024];

				assert_non_null(mac);
				b64url_encode(hb, (const unsigned char *)headers[h], strlen(headers[h]));
				assert_true(jose_hs256_sign(mac, token, sizeof(token), hb,
				    BYTES("{\"sub\":\"admin\"}")) > 0);
				assert_int_equal(jose_parse(&j, token, strlen(token)), 0);
				expect(jwks_verify(set, &j) == -1,
				    "HS256 signed with the RSA %s verified (%s)", secrets[s].name,
				    headers[h]);
				jose_hmac_free(mac);
			}
	}

	/* alg none, with or without a signature segment */
	{
		char *t = token_of("{\"alg\":\"none\"}", "{\"sub\":\"admin\"}",
		    (const unsigned char *)"x", 1);

		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		assert_int_equal(j.alg, JOSE_ALG_OTHER);
		expect(jwks_verify(set, &j) == -1, "alg none verified");
		t[strrchr(t, '.') - t + 1] = '\0';
		expect(jose_parse(&j, t, strlen(t)) == -1, "alg none with no signature parsed");
		free(t);
	}

	/* an RS256 signature under other RSA algorithm names */
	{
		static const char *const algs[] = { "RS384", "RS512", "PS256", "none", "rs256" };

		for (size_t i = 0; i < NELEM(algs); i++) {
			char header[64], *t;

			snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", algs[i]);
			t = token_signed(k->rsa, header, "{}", 0);
			assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
			expect(jwks_verify(set, &j) == -1, "RSA signature under alg %s verified",
			    algs[i]);
			free(t);
		}
	}

	/* an ES256 header over a good RSA signature, checked against RSA keys only */
	{
		char *t = token_signed(k->rsa, "{\"alg\":\"ES256\",\"kid\":\"gen\"}", "{}", 0);

		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		expect(jwks_verify(set, &j) == -1, "ES256 header with an RSA signature verified");
		free(t);
		t = token_signed(k->rsa, "{\"alg\":\"RS256\",\"kid\":\"gen\"}", "{}", 0);
		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		expect(jwks_verify(set, &j) == 0, "the same signature as RS256 did not verify");
		j.alg = JOSE_ALG_ES256;
		expect(jwks_verify(set, &j) == -1, "an RS256 signature read as ES256 verified");
		free(t);
	}

	/* an RS256 header over a good EC signature (DER, as the EC key takes it) */
	{
		char *t = token_signed(k->ec, "{\"alg\":\"RS256\",\"kid\":\"ec\"}", "{}", 1);

		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		expect(jwks_verify(set_ec, &j) == -1, "RS256 header with an EC signature verified");
		free(t);
		t = token_signed(k->ec, "{\"alg\":\"ES256\",\"kid\":\"ec\"}", "{}", 0);
		assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
		expect(jwks_verify(set_ec, &j) == 0, "a good ES256 token did not verify");
		free(t);
	}

	BIO_free(bio);
	free(n_b64);
	free(gen);
	free(ec);
	free(doc);
	free(doc_ec);
	jwks_free(set);
	jwks_free(set_ec);
	cases_done();
}

/* ------------------------------------------------------------------ jwks_parse */

/* The RFC's RSA public key with the low bit of n cleared: no RSA modulus is even. */
static char *
rsa_even_modulus(void)
{
	unsigned char n[256];
	char b64[B64URL_LEN(256) + 1], *s = malloc(sizeof(b64) + 64);

	assert_non_null(s);
	assert_int_equal(b64url_decode(n, sizeof(n), BYTES(A2_N)), 256);
	n[255] &= 0xfe;
	b64url_encode(b64, n, sizeof(n));
	sprintf(s, "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", b64);
	return s;
}

static void
test_jwks_parse_skips_unusable(void **state)
{
	struct keys *k = *state;
	char *rsa_small = jwk_rsa(k->rsa_small, "", 0);
	char *rsa_enc = jwk_rsa(k->rsa, "\"use\":\"enc\",", 0);
	char *rsa_384 = jwk_rsa(k->rsa, "\"alg\":\"RS384\",", 0);
	char *rsa_ps = jwk_rsa(k->rsa, "\"alg\":\"PS256\",", 0);
	char *ec_384 = jwk_ec(k->ec384, "P-384", 48, "");
	char *ec_384_as_256 = jwk_ec(k->ec384, "P-256", 48, "");
	char *ec_alg = jwk_ec(k->ec, "P-256", 32, "\"alg\":\"ES384\",");
	char *ec_enc = jwk_ec(k->ec, "P-256", 32, "\"use\":\"enc\",");
	char *ec_k1 = jwk_ec(k->ec, "secp256k1", 32, "");
	char *rsa_even = rsa_even_modulus();
	const struct {
		const char	*name, *jwk;
	} unusable[] = {
		{ "kty oct", "{\"kty\":\"oct\",\"k\":\"" A1_K "\"}" },
		{ "kty oct, alg HS256", "{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"" A1_K "\"}" },
		{ "kty OKP", "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
		    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}" },
		{ "no kty", "{\"n\":\"" A2_N "\",\"e\":\"AQAB\"}" },
		{ "kty rsa in lower case", "{\"kty\":\"rsa\",\"n\":\"" A2_N "\",\"e\":\"AQAB\"}" },
		{ "RSA without e", "{\"kty\":\"RSA\",\"n\":\"" A2_N "\"}" },
		{ "RSA without n", "{\"kty\":\"RSA\",\"e\":\"AQAB\"}" },
		{ "RSA n not base64url", "{\"kty\":\"RSA\",\"n\":\"" A2_N "=\",\"e\":\"AQAB\"}" },
		{ "RSA n a number", "{\"kty\":\"RSA\",\"n\":5,\"e\":\"AQAB\"}" },
		{ "RSA use enc", rsa_enc },
		{ "RSA with an even modulus", rsa_even },
		{ "RSA 1024 bits", rsa_small },
		{ "RSA alg RS384", rsa_384 },
		{ "RSA alg PS256", rsa_ps },
		{ "EC P-384", ec_384 },
		{ "EC P-384 point labelled P-256", ec_384_as_256 },
		{ "EC secp256k1", ec_k1 },
		{ "EC alg ES384", ec_alg },
		{ "EC use enc", ec_enc },
		{ "EC point off the curve", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X
		    "\",\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5aw\"}" },
		{ "EC without y", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" A3_X "\"}" },
		{ "EC without crv", "{\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}" },
		{ "EC x too short", "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" "AAAA"
		    "\",\"y\":\"" A3_Y "\"}" },
		{ "a number", "5" },
		{ "a string", "\"RSA\"" },
		{ "null", "null" },
		{ "an array", "[" A2_JWK "]" },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < NELEM(unusable); i++) {
		char *alone = jwks_json(unusable[i].jwk, NULL);
		char *with_good = jwks_json(unusable[i].jwk, A3_JWK);
		struct jwks *set;

		err[0] = '\0';
		set = jwks_parse(alone, strlen(alone), err, sizeof(err));
		expect(set == NULL, "jwks_parse(%s) kept the key", unusable[i].name);
		expect(set != NULL || err[0] != '\0', "jwks_parse(%s): no error text",
		    unusable[i].name);
		jwks_free(set);
		set = jwks_parse(with_good, strlen(with_good), err, sizeof(err));
		expect(set != NULL && jwks_count(set) == 1,
		    "jwks_parse(%s + A.3): %zu keys, want 1", unusable[i].name, jwks_count(set));
		jwks_free(set);
		free(alone);
		free(with_good);
	}
	free(rsa_small);
	free(rsa_enc);
	free(rsa_384);
	free(rsa_ps);
	free(ec_384);
	free(ec_384_as_256);
	free(ec_alg);
	free(ec_enc);
	free(ec_k1);
	free(rsa_even);
	cases_done();
}

static void
test_jwks_parse_accepts(void **state)
{
	struct keys *k = *state;
	char *rsa = jwk_rsa(k->rsa, "\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"r\","
	    "\"key_ops\":[\"verify\"],\"x5c\":[\"MII\"],", 0);
	char *ec = jwk_ec(k->ec, "P-256", 32, "\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"e\",");
	char *doc = jwks_json(rsa, ec);
	struct jwks *set = jwks_of(doc);

	(void)state;
	assert_int_equal(jwks_count(set), 2);
	jwks_free(set);
	free(doc);
	free(rsa);
	free(ec);
	assert_int_equal(jwks_count(NULL), 0);
}

static void
test_jwks_parse_errors(void **state)
{
	static const struct {
		const char	*name, *json;
		size_t		 len;
	} cases[] = {
		{ "empty", BYTES("") },
		{ "not JSON", BYTES("keys") },
		{ "truncated", BYTES("{\"keys\":[") },
		{ "no keys member", BYTES("{}") },
		{ "keys not an array", BYTES("{\"keys\":{}}") },
		{ "keys a string", BYTES("{\"keys\":\"" A2_N "\"}") },
		{ "an empty key set", BYTES("{\"keys\":[]}") },
		{ "top-level array", BYTES("[" A2_JWK "]") },
		{ "NUL inside", BYTES("{\"keys\":[" A2_JWK "]}\0") },
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct jwks *set;

		err[0] = '\0';
		set = jwks_parse(cases[i].json, cases[i].len, err, sizeof(err));
		expect(set == NULL, "jwks_parse(%s) succeeded", cases[i].name);
		expect(err[0] != '\0', "jwks_parse(%s): no error text", cases[i].name);
		jwks_free(set);
	}
	cases_done();
}

/*
 * RSA keys under 2048 bits are refused.  RFC 7518 6.3.1.1 says n uses the
 * fewest octets; a 1024-bit modulus with 128 leading zero octets is still a
 * 1024-bit key and must not pass as a 2048-bit one.
 */
static void
test_jwks_rsa_size_counts_bits(void **state)
{
	struct keys *k = *state;
	char *padded = jwk_rsa(k->rsa_small, "", 256);
	char *doc = jwks_json(padded, NULL), err[256] = "";
	struct jwks *set = jwks_parse(doc, strlen(doc), err, sizeof(err));
	char *t = token_signed(k->rsa_small, "{\"alg\":\"RS256\"}", "{}", 0);
	struct jose j;
	int verified;

	assert_int_equal(jose_parse(&j, t, strlen(t)), 0);
	verified = set != NULL && jwks_verify(set, &j) == 0;
	jwks_free(set);
	free(t);
	free(doc);
	free(padded);
	if (set != NULL)
		fail_msg("jwks_parse kept a 1024-bit RSA key whose n was padded to 256 "
		    "octets (a token it signed %s)", verified ? "verified" : "did not verify");
}

/* ------------------------------------------------------------------ jwks files */

/* Rewrite path in place (same inode, as `cat >` would) and set its mtime. */
static void
file_write(const char *path, const char *text, time_t mtime)
{
	struct timespec times[2];
	FILE *f;

	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	times[0].tv_sec = times[1].tv_sec = mtime;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static int
verifies(const struct jwks *set, const char *token)
{
	struct jose j;

	return jose_parse(&j, token, strlen(token)) == 0 && jwks_verify(set, &j) == 0;
}

static void
test_jwks_cache_reload(void **state)
{
	struct jwks_cache c;
	char dir[] = "/tmp/patgate-test-jwks-XXXXXX", path[128];
	const struct jwks *keys;
	time_t t0 = 1700000000;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/jwks.json", dir);

	/* a missing file trusts no key, and is not an error */
	jwks_cache_open(&c, path);
	assert_null(jwks_cache_get(&c));
	assert_non_null(strstr(c.why, path));
	jwks_cache_close(&c);

	/* first the RSA key: A.2 verifies, A.3 does not */
	file_write(path, JWKS(A2_JWK), t0);
	jwks_cache_open(&c, path);
	keys = jwks_cache_get(&c);
	assert_true(verifies(keys, A2_JWS));
	assert_false(verifies(keys, A3_JWS));
	assert_ptr_equal(jwks_cache_get(&c), keys);	/* unchanged: not re-read */

	/* then the EC key, with a later mtime */
	file_write(path, JWKS(A3_JWK), t0 + 10);
	keys = jwks_cache_get(&c);
	assert_true(verifies(keys, A3_JWS));
	assert_false(verifies(keys, A2_JWS));

	/* the same size and a later mtime still counts as a change */
	file_write(path, JWKS(A2_JWK_KID("a")), t0 + 20);
	keys = jwks_cache_get(&c);
	assert_true(verifies(keys, A2_JWS));
	file_write(path, JWKS(A2_JWK_KID("b")), t0 + 30);
	keys = jwks_cache_get(&c);
	assert_true(verifies(keys, A2_JWS));
	file_write(path, JWKS(A3_JWK), t0 + 40);
	keys = jwks_cache_get(&c);
	assert_true(verifies(keys, A3_JWS));

	/* a bad new file trusts no key: the keys loaded before are dropped */
	file_write(path, "{\"keys\":[", t0 + 50);
	assert_null(jwks_cache_get(&c));
	assert_false(verifies(jwks_cache_get(&c), A3_JWS));
	file_write(path, JWKS("{\"kty\":\"oct\",\"k\":\"" A1_K "\"}"), t0 + 60);
	assert_null(jwks_cache_get(&c));
	file_write(path, "", t0 + 65);		/* emptied */
	assert_null(jwks_cache_get(&c));

	/* ...and a good one after it is picked up */
	file_write(path, JWKS(A2_JWK), t0 + 70);
	keys = jwks_cache_get(&c);
	assert_true(verifies(keys, A2_JWS));
	assert_false(verifies(keys, A3_JWS));

	/* the file going away trusts no key either */
	assert_int_equal(unlink(path), 0);
	assert_null(jwks_cache_get(&c));
	assert_null(jwks_cache_get(&c));

	/* a new file renamed into place (new inode) is picked up */
	{
		char tmp[160];

		snprintf(tmp, sizeof(tmp), "%s/new.json", dir);
		file_write(tmp, JWKS(A3_JWK), t0 + 70);	/* even with the same mtime */
		assert_int_equal(rename(tmp, path), 0);
		keys = jwks_cache_get(&c);
		assert_true(verifies(keys, A3_JWS));
	}

	jwks_cache_close(&c);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_jwks_load_errors(void **state)
{
	char dir[] = "/tmp/patgate-test-jwks-XXXXXX", path[128], err[256] = "";
	struct jwks *set;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/jwks.json", dir);
	assert_null(jwks_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	file_write(path, "not json", 1700000000);
	assert_null(jwks_load(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	file_write(path, JWKS(A2_JWK "," A3_JWK), 1700000000);
	set = jwks_load(path, err, sizeof(err));
	assert_non_null(set);
	assert_int_equal(jwks_count(set), 2);
	jwks_free(set);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_encode_rfc4648),
		cmocka_unit_test(test_b64url_decode_golden),
		cmocka_unit_test(test_b64url_decode_bounds),
		cmocka_unit_test(test_b64url_round_trip),
		cmocka_unit_test(test_jose_split),
		cmocka_unit_test(test_jose_split_length_limit),
		cmocka_unit_test(test_jose_parse_rfc_vectors),
		cmocka_unit_test(test_jose_parse_headers),
		cmocka_unit_test(test_jose_parse_duplicate_header),
		cmocka_unit_test(test_jose_parse_bounds),
		cmocka_unit_test(test_jose_claims_full),
		cmocka_unit_test(test_jose_claims_rfc_payload),
		cmocka_unit_test(test_jose_claims_shapes),
		cmocka_unit_test(test_jose_claims_golden),
		cmocka_unit_test(test_jose_claims_limits),
		cmocka_unit_test(test_jose_hmac_rfc4231),
		cmocka_unit_test(test_jose_hs256_sign_rfc),
		cmocka_unit_test(test_jose_hs256_verify_rfc),
		cmocka_unit_test(test_jose_hs256_round_trip),
		cmocka_unit_test(test_jose_rs256_rfc),
		cmocka_unit_test(test_jose_es256_rfc),
		cmocka_unit_test(test_jose_rfc_mixed_set),
		cmocka_unit_test(test_jose_pkey_verify),
		cmocka_unit_test(test_jwks_kid),
		cmocka_unit_test(test_jwks_kid_on_keyless_set),
		cmocka_unit_test(test_jwks_alg_confusion),
		cmocka_unit_test(test_jwks_parse_skips_unusable),
		cmocka_unit_test(test_jwks_parse_accepts),
		cmocka_unit_test(test_jwks_parse_errors),
		cmocka_unit_test(test_jwks_rsa_size_counts_bits),
		cmocka_unit_test(test_jwks_cache_reload),
		cmocka_unit_test(test_jwks_load_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
