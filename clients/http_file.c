/*
 * http_file.c - requests whose body is a file, not JSON: an image upload
 * (POST with the file streamed by libcurl's read callback, never read
 * into memory, a progress bar on a terminal; http_upload() sends a file
 * by its name, as image import and vm import do) and an image download
 * (GET written straight to a file).  Error replies are problem+json as
 * everywhere, read into a bounded buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "hangar.h"
#include "http.h"
#include "http_int.h"

#define HTTP_FILE_BAR 30

/* The upload's read callback: the next bytes of the file. */
static size_t
http_file_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct http_file *f = arg;
	ssize_t n;

	do {
		n = read(f->hf_fd, buf, size * nmemb);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		f->hf_errno = errno;
		return CURL_READFUNC_ABORT;
	}
	return (size_t)n;
}

/* The download's write callback: a 2xx body to the file, else buffered. */
static size_t
http_file_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_file *f = arg;
	size_t n = size * nmemb, off = 0;
	long status = 0;

	curl_easy_getinfo(f->hf_h->h_curl, CURLINFO_RESPONSE_CODE, &status);
	if (status / 100 != 2)
		return http_write(ptr, size, nmemb, &f->hf_err);
	while (off < n) {
		ssize_t w = write(f->hf_fd, ptr + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			f->hf_errno = errno;
			return 0;
		}
		off += (size_t)w;
	}
	return n;
}

/* Progress: SIGINT stops it; on a terminal, a bar of the bytes so far. */
static int
http_file_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_file *f = arg;
	curl_off_t total = f->hf_up ? ultotal : dltotal;
	curl_off_t now = f->hf_up ? ulnow : dlnow;
	char line[256], bar[HTTP_FILE_BAR + 1];
	long long fill = 0, pct = 0;

	if (cli_interrupted)
		return 1;
	if (total > 0) {
		pct = (long long)(now * 100 / total);
		fill = (long long)(now * HTTP_FILE_BAR / total);
	}
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(HTTP_FILE_BAR - fill));
	bar[HTTP_FILE_BAR] = '\0';
	snprintf(line, sizeof(line), "%s %s [%s] %lld%% %lld/%lld MiB",
	    f->hf_up ? "uploading" : "downloading", f->hf_what, bar, pct,
	    (long long)(now >> 20), (long long)(total >> 20));
	output_spin_draw(false, line);
	return 0;
}

/* Run the request set up in f; the reply (a problem, or the JSON of an
 * upload) into *out.  0 for any reply, -1 after reporting. */
static int
http_file_run(struct http_file *f, const char *method, const char *path,
    struct http_reply *out)
{
	CURLcode cc;
	json_error_t je;

	f->hf_h->h_err[0] = '\0';
	cc = curl_easy_perform(f->hf_h->h_curl);
	output_spin_clear();
	if (cc != CURLE_OK) {
		if (cc == CURLE_ABORTED_BY_CALLBACK && cli_interrupted)
			return cli_fail(CLI_INTERRUPTED, "interrupted");
		if (f->hf_errno != 0)
			return cli_fail(CLI_ERROR, "%s: %s", f->hf_file,
			    strerror(f->hf_errno));
		http_unreachable(f->hf_h, method, path, cc);
		return -1;
	}
	curl_easy_getinfo(f->hf_h->h_curl, CURLINFO_RESPONSE_CODE,
	    &out->hr_status);
	if (f->hf_err.hb_len > 0) {
		out->hr_json = json_loadb(f->hf_err.hb_data, f->hf_err.hb_len, 0,
		    &je);
		if (out->hr_json == NULL && out->hr_status / 100 == 2)
			return cli_fail(CLI_ERROR, "the reply to %s %s is not "
			    "JSON: %s", method, path, je.text);
	}
	return 0;
}

/* The headers of a file request; NULL after reporting. */
static struct curl_slist *
http_file_headers(struct http *h, const struct http_file *f)
{
	char ct[96];
	const char *fixed[] = { "Accept: application/json, "
	    "application/problem+json, application/octet-stream",
	    ct, h->h_auth[0] != '\0' ? h->h_auth : NULL };
	struct curl_slist *hdrs = NULL, *t;

	snprintf(ct, sizeof(ct), "Content-Type:%s%s", f->hf_up ? " " : "",
	    f->hf_up ? (f->hf_ctype ? f->hf_ctype :
	    "application/octet-stream") : "");

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (fixed[i] == NULL)
			continue;
		if ((t = curl_slist_append(hdrs, fixed[i])) == NULL) {
			curl_slist_free_all(hdrs);
			cli_fail(CLI_ERROR, "out of memory");
			return NULL;
		}
		hdrs = t;
	}
	return hdrs;
}

int
http_file(struct http *h, const char *method, const char *path,
    struct http_file *f, struct http_reply *out)
{
	char url[HTTP_URL_MAX + HANGAR_PATH_MAX];
	struct curl_slist *hdrs;
	CURL *c = h->h_curl;
	CURLcode cc;
	int n, rc = -1;

	out->hr_status = 0;
	out->hr_json = NULL;
	f->hf_h = h;
	f->hf_up = strcmp(method, "POST") == 0;
	n = snprintf(url, sizeof(url), "%s%s", h->h_base, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return cli_fail(CLI_USAGE, "the request URL is too long");
	if ((hdrs = http_file_headers(h, f)) == NULL)
		return -1;
	cc = http_setup(h, url, hdrs);
	HTTP_SET(CURLOPT_TIMEOUT, 0L);            /* as long as it takes */
	HTTP_SET(CURLOPT_XFERINFOFUNCTION, http_file_progress);
	HTTP_SET(CURLOPT_XFERINFODATA, f);
	if (f->hf_up) {
		HTTP_SET(CURLOPT_POST, 1L);
		HTTP_SET(CURLOPT_READFUNCTION, http_file_read);
		HTTP_SET(CURLOPT_READDATA, f);
		HTTP_SET(CURLOPT_POSTFIELDSIZE_LARGE, f->hf_size);
		HTTP_SET(CURLOPT_WRITEFUNCTION, http_write);
		HTTP_SET(CURLOPT_WRITEDATA, &f->hf_err);
	} else {
		HTTP_SET(CURLOPT_HTTPGET, 1L);
		HTTP_SET(CURLOPT_WRITEFUNCTION, http_file_write);
		HTTP_SET(CURLOPT_WRITEDATA, f);
	}
	if (cc != CURLE_OK)
		cli_fail(CLI_ERROR, "cannot set up the request: %s",
		    curl_easy_strerror(cc));
	else
		rc = http_file_run(f, method, path, out);
	curl_easy_reset(c);
	curl_slist_free_all(hdrs);
	free(f->hf_err.hb_data);
	f->hf_err.hb_data = NULL;
	return rc;
}

int
http_upload(struct http *h, const char *path, const char *file,
    const char *what, const char *ctype, json_t **reply)
{
	struct http_file f;
	struct http_reply r;
	struct stat st;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	if ((f.hf_fd = open(file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(f.hf_fd, &st) == -1) {
		rc = cli_fail(CLI_USAGE, "%s: %s", file, strerror(errno));
		goto done;
	}
	f.hf_size = (curl_off_t)st.st_size;
	f.hf_file = file;
	f.hf_what = what;
	f.hf_ctype = ctype;
	if (http_file(h, "POST", path, &f, &r) == -1)
		goto done;
	if (r.hr_status / 100 != 2 || !json_is_object(r.hr_json))
		http_fail(&r);
	else {
		*reply = json_incref(r.hr_json);
		rc = 0;
	}
	http_reply_free(&r);
done:
	if (f.hf_fd >= 0)
		close(f.hf_fd);
	return rc;
}
