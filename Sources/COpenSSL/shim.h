#ifndef BACKTEST_COPENSSL_SHIM_H
#define BACKTEST_COPENSSL_SHIM_H
#include <openssl/ssl.h>
#include <openssl/err.h>

// Macros that Swift cannot call, as functions.
static inline long copenssl_ctx_set_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_mode(ctx, mode);
}

static inline int copenssl_ctx_set_min_tls12(SSL_CTX *ctx) {
    return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
}

static inline long copenssl_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}

static const long COPENSSL_MODE_PARTIAL_AND_MOVING =
    SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const int COPENSSL_TLSEXT_ERR_OK = SSL_TLSEXT_ERR_OK;
static const int COPENSSL_TLSEXT_ERR_ALERT_FATAL = SSL_TLSEXT_ERR_ALERT_FATAL;
#endif
