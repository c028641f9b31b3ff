"""The local stack: rtstream's whole pipeline on one machine, without Docker or a cloud account.

MiniStack emulates the AWS services and runs the real Lambda binaries, fakesnow is the
warehouse, and two small processes stand in for the managed services MiniStack cannot
emulate faithfully (Firehose's Kinesis-source data plane, Snowpipe). docs/local-stack.md
explains how the pieces fit and where they differ from AWS and Snowflake.
"""
