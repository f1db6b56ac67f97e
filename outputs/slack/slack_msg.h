/*
 * slack_msg.h - the Slack message of a notice (pure: tested on notices).
 */
#ifndef VG_SLACK_MSG_H
#define VG_SLACK_MSG_H

#include "alert/notifier.h"

#define SLACK_TEXT_MAX    4000 /* characters of `text` Slack takes */
#define SLACK_BLOCKS_MAX  50   /* blocks in one message */
#define SLACK_SECTION_MAX 3000 /* characters of a section's text */
#define SLACK_HEADER_MAX  150  /* characters of a header's text */
#define SLACK_FIELD_MAX   2000 /* characters of one field */
#define SLACK_URL_MAX     3000 /* characters of a button's url */

/* Appends the JSON of notice n: a `text` fallback and one attachment with
 * the severity's colour and Block Kit blocks (header, summary fields, one
 * section per alert up to what fits, a context line for the rest, a link
 * button when link, a template, is given). node names the agent's node.
 * Every text within Slack's limits. VG_OK or VG_ENOMEM. */
int slack_message(const struct vg_notice *n, const char *link, const char *node,
                  struct vg_buf *out);

#endif
