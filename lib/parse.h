/* Small helpers shared by the command-line parsers (lib/options.c, mmio/spec.c). */
#ifndef MHV_LIB_PARSE_H
#define MHV_LIB_PARSE_H

#define PARSE_DECIMAL_DIGITS 10

/* The value of a hexadecimal digit, or -1. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + PARSE_DECIMAL_DIGITS;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + PARSE_DECIMAL_DIGITS;
	return -1;
}

#endif
