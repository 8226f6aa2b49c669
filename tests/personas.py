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
# The pillar-mother programme ("1 + 3 + 1", backend/pillar/demo.py).
PILLAR_STAFF = STAFF  # 周敏 is staff of the pillar programme too: she records evaluations
PILLAR_PAYER = "demo-staff-qin"  # 秦岚, staff: releases a stage's money (never one she evaluated)
CADRE = "demo-cadre-lin"  # 林桂芳, federation cadre of both mothers' groups
AGENCY_WORKER = "demo-sw-xie"  # 谢婷, the delivering agency's worker, lead on both files
AGENCY_COLLEAGUE = "demo-sw-pan"  # 潘越, the same agency: reviews what 谢婷 sends
VOLUNTEER = "demo-vol-song"  # 宋晓燕, in both groups
HUANG_ONLY_VOLUNTEER = "demo-vol-du"  # 杜红, in 黄美兰's group only
YANG_ONLY_VOLUNTEER = "demo-vol-fang"  # 方琳, in 杨春燕's group only
PILLAR_MOTHER = "demo-pm-huang"  # 黄美兰, widowed, two children, Guiyuan
OTHER_PILLAR_MOTHER = "demo-pm-yang"  # 杨春燕, divorced, one child, Hetang
