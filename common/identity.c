/* identity.c -- CURVE keys through libzmq; see identity.h. */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "isotime.h"
#include "store.h"

static int write_key(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/keys/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return scsms_fail(errno == EEXIST ? SCSMS_EEXIST : SCSMS_EIO, "cannot create '%s': %s",
                          path, strerror(errno));
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return scsms_fail(SCSMS_EIO, "cannot write '%s'", path);
    }
    return 0;
}

int identity_curve_create(const char *dir)
{
    char pub[IDENTITY_Z85_LEN + 1], sec[IDENTITY_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0)
        return scsms_fail(SCSMS_ECRYPTO, "cannot make a CURVE keypair: %s (libzmq without "
                          "CURVE support?)", zmq_strerror(zmq_errno()));
    int rc = write_key(dir, "curve.key", sec, 0600);
    if (rc == 0 && (rc = write_key(dir, "curve.pub", pub, 0644)) != 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/keys/curve.key", dir);
        unlink(path);
    }
    memset(sec, 0, sizeof sec);
    return rc;
}

static int read_key(const char *dir, const char *name, char *out, int secret)
{
    char path[4096], buf[64];
    struct stat st;
    snprintf(path, sizeof path, "%s/keys/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return scsms_fail(errno == ENOENT ? SCSMS_ENOTFOUND : SCSMS_EIO,
                          "cannot read '%s': %s", path, strerror(errno));
    if (secret && (fstat(fileno(f), &st) != 0 || (st.st_mode & 077))) {
        fclose(f);
        return scsms_fail(SCSMS_EKEY, "key file '%s' is accessible to others: chmod 600 it",
                          path);
    }
    int ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = 0;
    if (!ok || !identity_curve_valid(buf))
        return scsms_fail(SCSMS_EKEY, "'%s' holds no CURVE key", path);
    memcpy(out, buf, IDENTITY_Z85_LEN + 1);
    return 0;
}

int identity_curve_load(const char *dir, char *pub, char *sec)
{
    int rc = read_key(dir, "curve.pub", pub, 0);
    return rc ? rc : read_key(dir, "curve.key", sec, 1);
}

int identity_curve_valid(const char *text)
{
    static const uint8_t zero[32];
    uint8_t raw[32];
    /* all zeros is no Curve25519 public key anyone holds the secret of */
    return strlen(text) == IDENTITY_Z85_LEN && zmq_z85_decode(raw, text) != NULL &&
           memcmp(raw, zero, sizeof raw) != 0;
}

int identity_enrol_store(struct store *at, struct store *who, const char *who_dir, int role)
{
    char curve[IDENTITY_Z85_LEN + 1], secret[IDENTITY_Z85_LEN + 1];
    char now[ISOTIME_INSTANT_LEN + 1];
    uint8_t key[CRYPTO_PUB_LEN];
    Scsms__Identity id = SCSMS__IDENTITY__INIT;
    int rc = identity_curve_load(who_dir, curve, secret);
    memset(secret, 0, sizeof secret); /* only the public half is enrolled */
    if (rc)
        return rc;
    store_public_key(who, key);
    isotime_format_instant(isotime_now(), now);
    id.id = (char *)store_owner(who);
    id.role = (Scsms__Identity__Role)role;
    id.curve_key = curve;
    id.sign_key.data = key;
    id.sign_key.len = sizeof key;
    id.enrolled_at = now;
    return store_identity_enrol(at, &id);
}
