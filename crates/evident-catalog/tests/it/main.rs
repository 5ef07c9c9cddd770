mod malformed;
mod reference;
