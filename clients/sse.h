/*
 * sse.h - the hangar client's Server-Sent Events reader (sse.c).
 */
#ifndef HANGAR_SSE_H
#define HANGAR_SSE_H

#include <stdbool.h>
#include <stddef.h>

#define SSE_MAX (1 << 20)	/* a longer line or event is an error */
#define SSE_ID_MAX 64		/* a longer id is ignored */

/*
 * Called for each frame with data: its type ("message" if it named none),
 * the last event id seen (NULL if none yet) and its data (lines joined by
 * LF).  Returns 0, or -1 (after reporting) to stop reading.
 */
typedef int sse_event_fn(void *, const char *, const char *, const char *);

struct sse {
	sse_event_fn	*s_fn;
	void		*s_arg;
	char		*s_line;		/* a line not yet ended */
	size_t		 s_linelen, s_linecap;
	char		*s_data;		/* the frame's data so far */
	size_t		 s_datalen, s_datacap;
	bool		 s_has_data;
	bool		 s_skip_lf;		/* the last piece ended in CR */
	char		 s_type[64];
	char		 s_id[SSE_ID_MAX];	/* the id buffer */
	char		 s_last_id[SSE_ID_MAX];	/* as of the last frame */
};

void		 sse_init(struct sse *, sse_event_fn *, void *);
int		 sse_feed(struct sse *, const char *, size_t);
void		 sse_reset(struct sse *);
const char	*sse_last_id(const struct sse *);
void		 sse_free(struct sse *);

#endif
