/*
 * template.h - the templates of annotations (and of notifier links):
 * text with `{{ $labels.NAME }}` and `{{ $value }}` (also spelled
 * `{{ .Labels.NAME }}` and `{{ .Value }}`), as Prometheus users write them.
 * A label the alert lacks expands to "". Pure functions on strings.
 */
#ifndef VG_ALERT_TEMPLATE_H
#define VG_ALERT_TEMPLATE_H

#include "vigil.h"

/* Checks tpl. VG_OK, or VG_EPARSE with why saying where and what
 * ("at offset 9: unknown '{{ $lables.gpu }}': use {{ $labels.NAME }} or
 * {{ $value }}"). */
int vg_alert_template_check(const char *tpl, char *why, size_t why_size);

/* Appends tpl expanded with labels (any order) and value to b. A template
 * that does not pass vg_alert_template_check is copied as it is. VG_OK or
 * VG_ENOMEM. */
int vg_alert_template_expand(const char *tpl, const struct vg_label *labels, size_t n, double value,
                             struct vg_buf *b);

#endif
