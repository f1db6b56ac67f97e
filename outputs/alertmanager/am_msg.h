/*
 * am_msg.h - the body of Alertmanager's POST /api/v2/alerts (pure).
 */
#ifndef VG_AM_MSG_H
#define VG_AM_MSG_H

#include "alert/notifier.h"

/* Appends notice n as the JSON array Alertmanager's API v2 takes: per
 * alert its labels, annotations, startsAt, endsAt (its end once resolved;
 * while firing the notice's valid_until, when set) and generatorURL (when
 * known). VG_OK or VG_ENOMEM. */
int am_message(const struct vg_notice *n, struct vg_buf *out);

#endif
