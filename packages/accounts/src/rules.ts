// Account rules the browser checks too (pure: no server imports).
export const PASSWORD_MIN = 10;
