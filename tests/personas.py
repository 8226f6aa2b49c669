"""The fixed cast every test speaks of, by user name (handle). All but the outsider come from the demo."""

STAFF = "demo-staff-zhou"
SOCIAL_WORKER = "demo-sw-li"  # Wutong Street: Guiyuan and Songfeng communities
OTHER_STREET_WORKER = "demo-sw-chen"  # Liu'an Street
CARING_MOTHER = "demo-mother-wang"  # paired with 陈小宇 (xiaoyu)
OTHER_MOTHER = "demo-mother-liu"  # paired with 林朵朵 (duoduo)
NEIGHBOUR = "demo-neighbour-zhao"  # cooks for 钱老伯 (qian)
OTHER_NEIGHBOUR = "demo-neighbour-sun"  # cooks for 郑奶奶 (zheng)
OUTSIDER = "outsider-sw"  # a social worker of another district's programme
STATION_WORKER = "demo-sw-he"  # Wutong Street social-work station
STATION_COLLEAGUE = "demo-sw-gao"  # the same station: reviews what he-yun sends
SCOUT = "demo-scout-ma"  # hardship scout, Guiyuan Community (reports to the Wutong station)
