"""Relay groups: several ``autoplay relay --group`` processes share one product through Redis.

One member holds the stream under a fenced lease and appends events to K Redis
Streams partitions by session; partition leases give each partition one owner.
"""
