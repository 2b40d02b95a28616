/* SPDX-License-Identifier: MIT */
/* addr.h — "ip:port" text for kernel tuples, the form used in every record. */
#ifndef MSGSCOPE_ADDR_H
#define MSGSCOPE_ADDR_H

#include <stddef.h>
#include <stdint.h>

/*
 * Format addr (network order, 4 or 16 bytes by family) and port as "a.b.c.d:p"
 * or "[v6]:p". IPv4-mapped IPv6 addresses print as IPv4 so that the two ends
 * of one loopback connection read the same whichever socket family each used.
 */
void addr_format(char *out, size_t outlen, int family, const uint8_t *addr,
		 uint16_t port);

#endif
