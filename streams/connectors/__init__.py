"""Client plumbing shared by the input and the output of one message-broker protocol."""
