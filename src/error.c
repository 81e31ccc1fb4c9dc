/* error.c - the one error table: status, JSON code and default message. */
#include <stddef.h>

#include "error.h"

static const struct error_info error_table[ERR__COUNT] = {
	[ERR_OK] = { 200, "OK", "ok", "ok" },
	[ERR_BAD_REQUEST] = { 400, "Bad Request", "bad_request",
	    "the request is malformed" },
	[ERR_INVALID_JSON] = { 400, "Bad Request", "invalid_json",
	    "the body must be one JSON object in strict UTF-8" },
	[ERR_INVALID_FIELD] = { 400, "Bad Request", "invalid_field",
	    "a field has an invalid value" },
	[ERR_UNAUTHORIZED] = { 401, "Unauthorized", "unauthorized",
	    "a bearer token is required" },
	[ERR_INVALID_TOKEN] = { 401, "Unauthorized", "unauthorized",
	    "the bearer token is invalid, expired or revoked" },
	[ERR_NOT_FOUND] = { 404, "Not Found", "not_found",
	    "no such resource" },
	[ERR_METHOD] = { 405, "Method Not Allowed", "method_not_allowed",
	    "this method is not allowed on this path" },
	[ERR_TOO_LARGE] = { 413, "Payload Too Large", "payload_too_large",
	    "the body is larger than 65536 bytes" },
	[ERR_MEDIA_TYPE] = { 415, "Unsupported Media Type",
	    "unsupported_media_type", "the Content-Type must be application/json" },
	[ERR_LENGTH_REQUIRED] = { 411, "Length Required", "length_required",
	    "a request body needs a Content-Length" },
	[ERR_PARAMS_TOO_LARGE] = { 431, "Request Header Fields Too Large",
	    "headers_too_large", "the request's headers are too many or too long" },
	[ERR_UNAVAILABLE] = { 503, "Service Unavailable", "unavailable",
	    "the database cannot be reached; retry later" },
	[ERR_SCHEMA] = { 503, "Service Unavailable", "unavailable",
	    "the database schema is out of date; run patgate.fcgi --migrate" },
	[ERR_MISCONFIGURED] = { 503, "Service Unavailable", "unavailable",
	    "the server is misconfigured; the web server's error log has the details" },
	[ERR_FORBIDDEN] = { 403, "Forbidden", "forbidden",
	    "the caller may not do this" },
	[ERR_LIMIT] = { 409, "Conflict", "limit_reached",
	    "the owner already has the most live tokens allowed (max_tokens_per_user)" },
	[ERR_CORS_ORIGIN] = { 403, "Forbidden", "cors_origin_not_allowed",
	    "this origin is not in cors_origins" },
	[ERR_RATE] = { 429, "Too Many Requests", "too_many_requests",
	    "this caller asks for lists too often; retry in a second" },
	[ERR_CONFLICT] = { 409, "Conflict", "already_rotated",
	    "this token was rotated already; rotate its successor" },
	[ERR_INTERNAL] = { 500, "Internal Server Error", "internal",
	    "an unexpected error happened; the log has the details" },
};

const struct error_info *
error_info(enum error e)
{
	if ((unsigned)e >= ERR__COUNT)
		e = ERR_INTERNAL;
	return &error_table[e];
}

const char *
error_strerror(enum error e)
{
	return error_info(e)->message;
}

const char *
error_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	default: break;
	}
	for (size_t i = 0; i < ERR__COUNT; i++)
		if (error_table[i].status == status)
			return error_table[i].reason;
	return "Unknown";
}
