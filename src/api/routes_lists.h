/* routes_lists: the REST API's blacklist and whitelist routes (spec §2.9):
 * pbx/{blacklists,whitelists}/{add,search,update,remove} over
 * store/numlist. What the lists do to calls is api/callscreen's. */
#ifndef TAMAS_API_ROUTES_LISTS_H
#define TAMAS_API_ROUTES_LISTS_H

struct http;
struct store;
struct routes_lists;

/* Adds the routes to h. mem object; must outlive h's routes, st must
 * outlive it. */
int routes_lists_alloc(struct routes_lists **rlp, struct http *h, struct store *st);

#endif
