/*
 * http_int.h - between http.c and http_file.c (image uploads and
 * downloads): the connection's insides and the helpers both use.
 */
#ifndef HANGAR_HTTP_INT_H
#define HANGAR_HTTP_INT_H

#include <stdbool.h>
#include <sys/un.h>

#include <curl/curl.h>

#include "http.h"

#define HTTP_URL_MAX 1024
#define HTTP_AUTH_MAX 512	/* "Authorization: Bearer TOKEN" */

struct http {
	CURL		*h_curl;
	char		 h_target[HTTP_URL_MAX];	/* as given */
	char		 h_base[HTTP_URL_MAX];	/* no trailing '/' */
	char		 h_sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char		 h_auth[HTTP_AUTH_MAX];	/* the header, or "" */
	char		 h_cacert[HTTP_URL_MAX];	/* CA file for https, or "" */
	http_tick_fn	*h_tick;
	void		*h_tick_arg;
	/* http_set_quiet(): an unreachable daemon is only noted, in
	 * h_unreached, not reported */
	bool		 h_quiet;
	bool		 h_unreached;
	char		 h_err[CURL_ERROR_SIZE];
	/* the last reply's Link rel="next" (a list's next page), or "" */
	char		 h_next[HTTP_URL_MAX];
	/* While a stream is read (http_stream()): */
	long		 h_idle;	/* give up after this many s silent */
	double		 h_last_rx;	/* when bytes last came (monotonic) */
	bool		 h_idled;	/* it was given up for that */
};

/* A reply body being read: grows by doubling, never past HTTP_BODY_MAX. */
struct http_buf {
	char	*hb_data;
	size_t	 hb_len;
	size_t	 hb_cap;
	bool	 hb_over;	/* the reply was too large */
	bool	 hb_nomem;
};

/* Set option opt of c to val, unless an earlier option failed (in cc). */
#define HTTP_SET(opt, val) do {						\
	if (cc == CURLE_OK)						\
		cc = curl_easy_setopt(c, opt, val);			\
} while (0)

/* A request whose body is a file (http_file.c). */
struct http_file {
	int		 hf_fd;		/* the file: read (upload), written */
	curl_off_t	 hf_size;	/* upload: its size */
	const char	*hf_file;	/* its name, for errors */
	const char	*hf_what;	/* for the progress bar */
	const char	*hf_ctype;	/* upload: its type (NULL: octets) */
	/* set by http_file(): */
	struct http	*hf_h;
	bool		 hf_up;
	int		 hf_errno;	/* reading or writing the file failed */
	struct http_buf	 hf_err;	/* a reply that is not the file */
};

/*
 * POST path with the file as the body (application/octet-stream), or GET
 * path into the file; no total timeout, a progress bar on a terminal.
 * *out as http_request() fills it (the JSON reply of an upload, the
 * problem of a failed download).  0 for any reply, -1 after reporting.
 */
int	 http_file(struct http *, const char *, const char *,
	    struct http_file *, struct http_reply *);

/*
 * POST path with file (named so in errors; what in the progress bar;
 * ctype its Content-Type, NULL for octets) as the body, as http_file()
 * sends it: a 2xx JSON object reply into *reply (the caller owns it).
 * 0, or -1 after reporting (a file that cannot be read: CLI_USAGE; any
 * other reply: its problem).
 */
int	 http_upload(struct http *, const char *, const char *, const char *,
	    const char *, json_t **);

/* The write callback that reads a reply into a struct http_buf. */
size_t	 http_write(char *, size_t, size_t, void *);
/* Reset the handle with what every request shares (http.c). */
CURLcode http_setup(struct http *, const char *, struct curl_slist *);
/* Report that the daemon could not be reached (CLI_UNREACHABLE). */
void	 http_unreachable(struct http *, const char *, const char *,
	    CURLcode);

#endif
