// Package tracecontext parses and writes W3C trace-context `traceparent` headers
// (https://www.w3.org/TR/trace-context/) and makes x-request-id values (UUID v4), without
// fmt on the request path.
package tracecontext
