/*
 * email_msg.h - the RFC 5322 message of a notice (pure: tested on notices).
 */
#ifndef VG_EMAIL_MSG_H
#define VG_EMAIL_MSG_H

#include "alert/notifier.h"

#define EMAIL_LINE_MAX 998 /* octets of a line, CRLF left out (RFC 5322 2.1.1) */

/* Appends a whole message: Date (of now_ns), From, To (every address),
 * Subject (the notice's title, RFC 2047 encoded when not ASCII),
 * Message-ID (unique: id and now_ns, at from's domain), MIME-Version,
 * Content-Type text/plain UTF-8, Auto-Submitted, then a blank line and a
 * body listing each alert. Every line ends in CRLF, none is longer than
 * EMAIL_LINE_MAX, and a bare CR or LF in a value becomes a line break (a
 * header value's become spaces). VG_OK or VG_ENOMEM. */
int email_message(const struct vg_notice *n, const char *from, const char *const *to, size_t n_to,
                  const char *node, int64_t now_ns, uint64_t id, struct vg_buf *out);

/* Appends text as an RFC 2047 header value: as it is when it is printable
 * ASCII, else as "=?UTF-8?B?...?=" words of at most 75 characters, cut on
 * character boundaries and folded with CRLF SP. VG_OK or VG_ENOMEM. */
int email_encode_header(const char *text, struct vg_buf *out);

#endif
