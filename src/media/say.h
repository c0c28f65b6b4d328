/* say: the prompt lists behind SayDigits/SayNumber, as Asterisk's say.c
 * builds them for English from asterisk-core-sounds ("digits/2",
 * "digits/hundred", ...). Languages without a recorded number set return
 * ENOTSUP so the caller can fall back to TTS. Not for playing them. */
#ifndef TAMAS_SAY_H
#define TAMAS_SAY_H

#include <stddef.h>

/* Writes '&'-separated prompt names to buf (Playback's syntax).
 * EINVAL for an empty or non-numeric argument, ENOTSUP for a language with
 * no number prompts ("fa"), ENAMETOOLONG if buf is too small. */
int say_number_files(char *buf, size_t sz, const char *number, const char *lang);
/* One prompt per character: digits 0-9, '*' ("digits/star"), '#'
 * ("digits/pound"), '-' ("letters/dash"), letters ("letters/a"). */
int say_digits_files(char *buf, size_t sz, const char *digits, const char *lang);

#endif
