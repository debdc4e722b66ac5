/** the `err` code of a refusal whose reason carries no code of its own */
export const ERR_JOIN_REFUSED = 'ERR_FERRY_JOIN_REFUSED'
